/** An error the user caused or can fix: printed as one line, without a stack trace. */
export class UserError extends Error {
  constructor(
    message: string,
    readonly code = 'USER_ERROR',
  ) {
    super(message);
    this.name = 'UserError';
  }
}

export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
