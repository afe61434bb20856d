import { describe, expect, it } from 'vitest';
import { signalingOptions } from './voice';

describe('signalingOptions', () => {
  it("uses Twilio's edge when no signaling URL is configured", () => {
    expect(signalingOptions({ edge: 'tokyo', signaling: null })).toEqual({ edge: 'tokyo' });
  });

  it('maps exactly the SDK URL to a plain ws:// stand-in', () => {
    expect(signalingOptions({ edge: 'tokyo', signaling: 'ws://127.0.0.1:8090/signal' })).toEqual({
      chunderw: '127.0.0.1:8090',
      mapFrom: 'wss://127.0.0.1:8090/signal',
    });
  });

  it('needs no mapping for a wss:// endpoint', () => {
    expect(signalingOptions({ edge: 'tokyo', signaling: 'wss://voice.example.co.jp/signal' })).toEqual({
      chunderw: 'voice.example.co.jp',
    });
  });
});
