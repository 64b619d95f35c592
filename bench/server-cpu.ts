// The server's CPU, for the benchmarks' CPU-per-query and per-transaction columns.
import { readdirSync, readFileSync } from 'node:fs';

/**
 * CPU seconds used so far by the server: every process called `postgres`, plus what its reaped
 * children used (pgbench's backends exit before the second reading and would otherwise vanish
 * from the sum). From /proc; NaN where there is none. The clock tick is 100 Hz on Linux.
 */
export function serverCpuSeconds(): number {
  try {
    let ticks = 0;
    for (const pid of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        if (!stat.includes('(postgres)')) continue;
        const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        // utime, stime, cutime, cstime (fields 14–17 of proc(5)).
        ticks += Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14]);
      } catch {
        // the process ended meanwhile
      }
    }
    return ticks / 100;
  } catch {
    return NaN;
  }
}
