/** A mount that cannot go ahead because of what the user asked for: one clear line, exit 1. */
export class UsageError extends Error {}
