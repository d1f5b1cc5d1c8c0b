// resource-read with DPoP (RFC 9449 §7.1): a DPoP-bound token sent as `Authorization: DPoP`, each read with a
// fresh proof (htm, htu, ath, a new jti): the token's verification plus the proof's (signature, claims, the
// key binding, the jti replay guard — in-process here, as the RS runs without REDIS_URL by default) and the
// database read. Its cost is read against resource-read in the same run (the × bearer column).
import { photoRead } from './resource-read.mjs';

export default {
  name: 'resource-read-dpop',
  description: 'resource-read with a DPoP-bound token and a fresh DPoP proof per read',
  bearer: 'resource-read',
  profiles: ['resource-server'],
  run: (ctx) => photoRead(ctx, ctx.rs, { dpop: true }),
};
