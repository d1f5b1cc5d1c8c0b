// resource-read's load against bench/limit-server.mjs, which verifies the authorization server's tokens with
// jose and reads the photo by id and owner: resource-read's verdict is its rate over this one's.
import { photoRead } from './resource-read.mjs';

export default {
  name: 'limit-resource-read',
  description: 'resource-read against the limit program (bench/limit-server.mjs): what this machine can do',
  needs: ['limit'],
  profiles: ['limit'],
  run: (ctx) => photoRead(ctx, ctx.limit),
};
