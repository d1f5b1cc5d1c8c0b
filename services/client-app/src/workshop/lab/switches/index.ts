// The lab's switches, listed once, in the order the lab page shows them. Each file exports its `meta` (what
// the misbehaving client does, the attack it enables, the defence and the expected refusal) and its
// `run(ctx)`; adding a switch is adding a file and a line here.
import type { LabSwitch, SwitchMeta } from '../run-context.js';
import * as noPkce from './no-pkce.js';
import * as plainPkce from './plain-pkce.js';
import * as wrongVerifier from './wrong-verifier.js';
import * as dropState from './drop-state.js';
import * as reuseState from './reuse-state.js';
import * as wrongIss from './wrong-iss.js';
import * as redirectUriOffByOne from './redirect-uri-off-by-one.js';
import * as codeTwice from './code-twice.js';
import * as refreshReuse from './refresh-reuse.js';
import * as otherAudience from './other-audience.js';
import * as expiredToken from './expired-token.js';
import * as algNone from './alg-none.js';
import * as editedPayload from './edited-payload.js';
import * as missingScope from './missing-scope.js';
import * as devicePollsTooFast from './device-polls-too-fast.js';
import * as phishedUserCode from './phished-user-code.js';
import * as metadataDocumentMismatch from './metadata-document-mismatch.js';
import * as dpopTokenAsBearer from './dpop-token-as-bearer.js';
import * as dpopOtherKey from './dpop-other-key.js';
import * as dpopReplayedProof from './dpop-replayed-proof.js';
import * as dpopRefreshWithoutKey from './dpop-refresh-without-key.js';
import * as skipPar from './skip-par.js';

export const SWITCHES: readonly LabSwitch[] = [
  noPkce,
  plainPkce,
  wrongVerifier,
  dropState,
  reuseState,
  wrongIss,
  redirectUriOffByOne,
  codeTwice,
  refreshReuse,
  otherAudience,
  expiredToken,
  algNone,
  editedPayload,
  missingScope,
  devicePollsTooFast,
  phishedUserCode,
  metadataDocumentMismatch,
  dpopTokenAsBearer,
  dpopOtherKey,
  dpopReplayedProof,
  dpopRefreshWithoutKey,
  skipPar,
];

/** The switches' meta, as the lab page lists them. */
export const LAB_SWITCHES: readonly SwitchMeta[] = SWITCHES.map((s) => s.meta);

export function findSwitch(id: string): LabSwitch | undefined {
  return SWITCHES.find((s) => s.meta.id === id);
}

/** A run was asked for a switch the lab does not have (a forged or stale form). */
export class UnknownSwitchError extends Error {
  constructor(readonly switchId: string) {
    super(`There is no lab switch ${JSON.stringify(switchId.slice(0, 64))}`);
    this.name = 'UnknownSwitchError';
  }
}
