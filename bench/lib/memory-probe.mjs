// Preloaded into each service (node --import) by `npm run bench`: on SIGUSR2 it writes where the
// process's memory is (V8 heap, external and ArrayBuffer memory, RSS, heap spaces) to
// $BENCH_MEMORY_PROBE_FILE, so the report can say what the RSS consists of. Nothing else changes.
import { writeFileSync } from 'node:fs';
import v8 from 'node:v8';

const file = process.env.BENCH_MEMORY_PROBE_FILE;
if (file) {
  process.on('SIGUSR2', () => {
    const mb = (n) => Math.round((n / 1024 / 1024) * 10) / 10;
    const usage = Object.fromEntries(Object.entries(process.memoryUsage()).map(([k, v]) => [k, mb(v)]));
    const spaces = Object.fromEntries(v8.getHeapSpaceStatistics().map((s) => [s.space_name, mb(s.space_used_size)]));
    const heap = v8.getHeapStatistics();
    writeFileSync(
      file,
      JSON.stringify({
        usageMB: usage,
        heapSpacesUsedMB: spaces,
        mallocedMB: mb(heap.malloced_memory),
        peakMallocedMB: mb(heap.peak_malloced_memory),
      }),
    );
  });
}
