/**
 * The active call's quality warnings, as the Voice SDK raises and clears them (`call.on('warning')` /
 * `'warning-cleared'`, from its own stats monitor: the single source of truth, also under the native-audio shim,
 * which feeds the SDK's `getStats`). Phone (./voice.ts) writes here; the call screen reads it.
 *
 * The SDK's thresholds are Twilio's defaults: RTT > 400 ms and jitter > 30 ms (3 of 5 samples), packet loss > 1 %
 * in a sample (`high-packet-loss`) or > 3 % averaged over 7 (`high-packets-lost-fraction`). Its `low-mos` fires
 * only below MOS 3.0 and takes no option, so the MOS warning is this module's own, at 3.5 (Twilio's documented
 * threshold, the product's), from the SDK's per-second `sample` events with the SDK's own rule: raised when 3 of the
 * last 5 samples are below, cleared when none is.
 */

/** What the agent is told about; several SDK warnings can mean the same thing. */
export type QualityWarning = 'connection' | 'rtt' | 'loss' | 'jitter' | 'mos' | 'mic' | 'speaker';

/** The SDK's warning names (Call 'warning' events) and what they mean to the agent, most serious first. */
const KINDS: Record<string, QualityWarning> = {
  'ice-connectivity-lost': 'connection',
  'low-bytes-received': 'connection',
  'low-bytes-sent': 'connection',
  'high-rtt': 'rtt',
  'high-packet-loss': 'loss',
  'high-packets-lost-fraction': 'loss',
  'high-jitter': 'jitter',
  'low-mos': 'mos',
  'constant-audio-input-level': 'mic',
  'constant-audio-output-level': 'speaker',
};
const ORDER: readonly QualityWarning[] = ['connection', 'rtt', 'loss', 'jitter', 'mos', 'mic', 'speaker'];

/** Below this estimated MOS the call sounds poor (Twilio's documented warning threshold). */
export const MIN_MOS = 3.5;
/** The SDK's rule for its warnings: over the last `MOS_WINDOW` samples, raise at `MOS_RAISE` low ones, clear at none. */
const MOS_WINDOW = 5;
const MOS_RAISE = 3;

/** What an SDK warning name means to the agent; null for a name this app does not show. */
export const qualityKind = (name: string): QualityWarning | null => KINDS[name] ?? null;

class CallQuality {
  /** The call the warnings belong to (its CallSid, or the outgoing attempt before the SDK knows it). */
  private call: string | null = null;
  /** The SDK warning names raised and not cleared yet. */
  private names = $state<string[]>([]);
  /** The last samples' "MOS below {@link MIN_MOS}" (the current call's). */
  private lowMos: boolean[] = [];
  /** The active warnings, most serious first, each once. */
  readonly warnings = $derived(ORDER.filter((k) => this.names.some((n) => KINDS[n] === k)));

  /** The SDK raised `name` on `call`; a warning of another call than the one shown replaces it (one call at a time). */
  raise(call: string, name: string) {
    if (!qualityKind(name)) return;
    if (this.call !== call) {
      this.call = call;
      this.names = [];
      this.lowMos = [];
    }
    if (!this.names.includes(name)) this.names = [...this.names, name];
  }

  /** The SDK cleared `name` on `call`. */
  clear(call: string, name: string) {
    if (this.call === call) this.names = this.names.filter((n) => n !== name);
  }

  /**
   * One of the SDK's per-second samples of `call` with its estimated MOS (null before it can be estimated): raises
   * or clears `low-mos` at {@link MIN_MOS}; answers what changed, for the log.
   */
  sample(call: string, mos: number | null): 'raised' | 'cleared' | null {
    if (this.call !== call) {
      this.call = call;
      this.names = [];
      this.lowMos = [];
    }
    if (mos == null) return null;
    this.lowMos = [...this.lowMos, mos < MIN_MOS].slice(-MOS_WINDOW);
    const low = this.lowMos.filter(Boolean).length;
    const raised = this.names.includes('low-mos');
    if (!raised && low >= MOS_RAISE) {
      this.raise(call, 'low-mos');
      return 'raised';
    }
    if (raised && low === 0) {
      this.clear(call, 'low-mos');
      return 'cleared';
    }
    return null;
  }

  /** `call` ended (or, without one, every call: sign-out): its warnings go. */
  end(call?: string) {
    if (call !== undefined && this.call !== call) return;
    this.call = null;
    this.names = [];
    this.lowMos = [];
  }
}

/** The one call quality state of the window. */
export const callQuality = new CallQuality();
