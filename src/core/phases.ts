/**
 * One function per phase of a run, one file per stage of the run under phases/. Each reads the
 * observed world, and either waits (requeue), re-issues its idempotent actions, or moves the run
 * on. See decide.ts for the state diagram.
 */
export { cleaningUp } from "./phases/cleanup.ts";
export { HISTORY_RECHECK_MS, pending, resolving } from "./phases/history.ts";
export { REFUSAL_MAX_CHARS, refusedWrite } from "./phases/refused.ts";
export {
  deployingCurrent,
  deployingPrevious,
  FORWARD_WAIT_MAX_MS,
  rollingBack,
} from "./phases/rollout.ts";
export {
  creatingSetSandbox,
  deployingCurrentSet,
  deployingPreviousSet,
  preflightSet,
  resolvingSet,
  rollingBackSet,
  verifyingSet,
} from "./phases/set.ts";
export { creatingSandbox, preflightPhase, SETUP_REISSUE_MS } from "./phases/setup.ts";
export { podsReadyAt, sandboxWaitingFor, tooSlowAtTimeout, verifying } from "./phases/verify.ts";
