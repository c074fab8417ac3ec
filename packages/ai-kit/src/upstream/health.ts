// Health probes shared and cached: a status page or readiness check polled by many callers costs the upstream
// at most one probe per cache period.

export interface UpstreamHealth {
  /** ok: answered 200 `{status:"ok"}`; unhealthy: answered anything else; unreachable: no answer in time. */
  status: 'ok' | 'unhealthy' | 'unreachable';
  latencyMs: number;
  checkedAt: Date;
}

export class SharedHealthProbe {
  #cached: { result: UpstreamHealth; at: number } | null = null;
  #inFlight: Promise<UpstreamHealth> | null = null;

  constructor(
    private readonly probe: () => Promise<UpstreamHealth>,
    private readonly cacheMs: number,
    private readonly now: () => number,
  ) {}

  check(): Promise<UpstreamHealth> {
    if (this.#cached && this.now() - this.#cached.at < this.cacheMs) return Promise.resolve(this.#cached.result);
    this.#inFlight ??= this.probe()
      .then((result) => {
        this.#cached = { result, at: this.now() };
        return result;
      })
      .finally(() => {
        this.#inFlight = null;
      });
    return this.#inFlight;
  }
}
