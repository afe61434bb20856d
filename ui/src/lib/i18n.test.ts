import { describe, expect, it } from 'vitest';
import { initialLang } from './i18n.svelte';

describe('initialLang', () => {
  it('prefers the agent’s remembered pick', () => {
    expect(initialLang('ja', ['en-US'])).toBe('ja');
    expect(initialLang('en', ['ja-JP'])).toBe('en');
  });

  it('follows the first supported OS language', () => {
    expect(initialLang(null, ['ja-JP', 'en-US'])).toBe('ja');
    expect(initialLang(null, ['fr-FR', 'en-GB'])).toBe('en');
  });

  it('ignores junk and falls back to English', () => {
    expect(initialLang('klingon', ['de-DE'])).toBe('en');
    expect(initialLang(null, [])).toBe('en');
  });
});
