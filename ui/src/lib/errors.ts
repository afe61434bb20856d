/** Words for a refused command: the UI's own text for a known `kind`, else the Rust side's English detail. */
import { CommandError } from './core-client';
import { i18n } from './i18n.svelte';

export function explain(reason: unknown): string {
  const error = CommandError.from(reason);
  return i18n.t.errors[error.kind] ?? error.message;
}

/** A Twilio error code in words the agent can act on, with the SDK's message when the code is not known. */
export function explainTwilio(code: number | undefined, message = ''): string {
  const t = i18n.t;
  if (code !== undefined && t.twilioErrors[code]) return t.twilioErrors[code];
  return code !== undefined ? t.twilioError(code, message) : message;
}
