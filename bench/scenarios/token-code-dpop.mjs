// token-code with DPoP (RFC 9449 §5): the same code redemptions, each with a fresh DPoP proof for the token
// endpoint, answered with a DPoP-bound token (token_type DPoP, cnf.jkt). Its cost is read against token-code in
// the same run (the × bearer column: rate and the AS's CPU µs/request over token-code's).
import { codeRedemption } from './token-code.mjs';

export default {
  name: 'token-code-dpop',
  description: 'token-code with a DPoP proof on every redemption, answered with a DPoP-bound token',
  bearer: 'token-code',
  profiles: ['authorization-server'],
  run: (ctx) => codeRedemption(ctx, ctx.as, { dpop: true }),
};
