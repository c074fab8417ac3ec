// Runs one HTTP load job in a separate process (src/load/runner.ts), so that the load generator and the
// servers under test never share an event loop. The servers stay in this process.
import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { performance } from 'node:perf_hooks';

import type { ChildMessage, LoadJob, LoadStats, ParentMessage } from './protocol.ts';

const RUNNER = path.join(import.meta.dirname, 'runner.ts');
const REPO_ROOT = path.resolve(import.meta.dirname, '../../..');

export interface HttpLoadOptions {
  /** Called every `refreshEveryS` seconds during the run; its headers replace the job's (short-lived tokens). */
  refreshHeaders?: () => Promise<Record<string, string>>;
  refreshEveryS?: number;
}

export interface HttpLoadResult {
  warmup: LoadStats | null;
  measured: LoadStats;
  /** This process (the servers under test) during the measured run. */
  server: ServerUsage;
}

export interface ServerUsage {
  wallMs: number;
  /** CPU time of this process (user + system), every thread: the servers, and PGlite when embedded. */
  cpuMs: number;
  /** Share of the wall time the main event loop was busy (1 = saturated: the servers are the bottleneck). */
  eventLoopUtilization: number;
}

/** Starts accounting for this process's CPU and event loop; call the result to read them. */
export function startUsage(): () => ServerUsage {
  const cpu = process.cpuUsage();
  const elu = performance.eventLoopUtilization();
  const wall = performance.now();
  return () => {
    const used = process.cpuUsage(cpu);
    return {
      wallMs: performance.now() - wall,
      cpuMs: (used.user + used.system) / 1000,
      eventLoopUtilization: performance.eventLoopUtilization(elu).utilization,
    };
  };
}

function sendTo(child: ChildProcess, message: ParentMessage): void {
  child.send(message);
}

export function runHttpLoad(job: LoadJob, options: HttpLoadOptions = {}): Promise<HttpLoadResult> {
  // Hard stop: the run's own time plus a generous margin for start-up and the last slow responses.
  const deadlineMs = (job.warmupS + job.durationS + job.timeoutS * 2 + 30) * 1000;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', RUNNER], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    let settled = false;
    let usage = startUsage();
    let refreshTimer: NodeJS.Timeout | undefined;
    const finish = (error: Error | null, result?: HttpLoadResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      clearInterval(refreshTimer);
      if (child.exitCode === null && child.signalCode === null) child.kill();
      if (error) reject(error);
      else resolve(result as HttpLoadResult);
    };
    const deadline = setTimeout(
      () => finish(new Error(`load generator still running after ${deadlineMs / 1000} s; killed`)),
      deadlineMs,
    );
    child.on('error', (error) => finish(error));
    child.on('exit', (code, signal) =>
      finish(new Error(`load generator exited early (code ${code}, signal ${signal})`)),
    );
    child.on('message', (message: ChildMessage) => {
      if (message.type === 'ready') {
        sendTo(child, { type: 'run', job });
        const refresh = options.refreshHeaders;
        if (refresh) {
          refreshTimer = setInterval(
            () => {
              refresh()
                .then((headers) => {
                  if (!settled && child.connected) sendTo(child, { type: 'headers', headers });
                })
                .catch((error: unknown) => finish(error as Error));
            },
            (options.refreshEveryS ?? 30) * 1000,
          );
        }
      } else if (message.type === 'measuring') {
        usage = startUsage();
      } else if (message.type === 'result') {
        finish(null, { warmup: message.warmup, measured: message.measured, server: usage() });
      } else {
        finish(new Error(`load generator failed: ${message.message}`));
      }
    });
  });
}
