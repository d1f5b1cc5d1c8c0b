// token-code's load against bench/limit-server.mjs, the minimal Fastify + ioredis + pg + jose program that
// stands for the machine's limit: token-code's verdict is its rate over this one's, measured in the same run.
import { codeRedemption } from './token-code.mjs';

export default {
  name: 'limit-token-code',
  description: 'token-code against the limit program (bench/limit-server.mjs): what this machine can do',
  needs: ['limit'],
  profiles: ['limit'],
  run: (ctx) => codeRedemption(ctx, ctx.limit),
};
