/** Figures measured by earlier scenarios of the same run, reused as baselines. */
export const baselines: { socketMsgsPerSec64?: number; socketRoundTripP50Us?: number } = {};
