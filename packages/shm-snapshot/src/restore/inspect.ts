import { SharedFd } from '@shmkit/shm-fd';

import { SnapshotFile } from '../snapshot-file';

export interface InspectReport {
  file: string;
  fileBytes: number;
  configured: boolean;
  configuration?: { entries: number; dataBytes: number; writeOffset: number };
  layout?: { sequencePages: number; dataOffset: number; tailOffset: number; tailBytes: number };
  valid?: { slot: number; offset: number; length: number; hex: string; truncated: boolean }[];
}

/** Reads BACKUP (mapped read-only and private: nothing is written) into a report. Throws SnapshotCorruptError. */
export function inspect(path: string, maxBytes: number): InspectReport {
  const shared = SharedFd.openFile(path, { readOnly: true });
  try {
    const fileBytes = shared.size;
    if (fileBytes === 0) return { file: path, fileBytes, configured: false };
    const file = SnapshotFile.map(shared, { writable: false });
    try {
      const r = file.recover();
      if (r === null) return { file: path, fileBytes, configured: false };
      const g = r.geometry;
      return {
        file: path,
        fileBytes,
        configured: true,
        configuration: { ...r.configuration },
        layout: { sequencePages: g.sequencePages, dataOffset: g.dataOffset, tailOffset: g.tailOffset, tailBytes: g.tailBytes },
        valid: r.valid().map((s) => {
          const data = r.read(s) ?? Buffer.alloc(0);
          return { ...s, hex: data.subarray(0, maxBytes).toString('hex'), truncated: data.length > maxBytes };
        }),
      };
    } finally {
      file.close();
    }
  } finally {
    shared.close();
  }
}

export function formatReport(r: InspectReport): string {
  const lines = [`${r.file}: ${r.fileBytes} bytes`];
  if (!r.configured || r.configuration === undefined || r.layout === undefined || r.valid === undefined) {
    lines.push('  not configured (no shm-snapshot head): nothing to restore from it as a journal');
    return `${lines.join('\n')}\n`;
  }
  const c = r.configuration;
  const l = r.layout;
  lines.push(`  layout     shm-snapshot v1, ${c.entries} entries, ${c.dataBytes}-byte data ring`);
  lines.push(`  regions    head 0x0, sequence 0x1000 (${l.sequencePages} pages), ring 0x${l.dataOffset.toString(16)}, tail 0x${l.tailOffset.toString(16)}`);
  lines.push(`  write at   stream offset ${c.writeOffset}`);
  lines.push(`  tail       ${l.tailBytes} bytes`);
  lines.push(`  valid      ${r.valid.length} entr${r.valid.length === 1 ? 'y' : 'ies'}, oldest first`);
  for (const v of r.valid) {
    lines.push(`    slot ${String(v.slot).padStart(5)}  offset ${String(v.offset).padStart(12)}  length ${String(v.length).padStart(6)}  ${v.hex}${v.truncated ? '…' : ''}`);
  }
  return `${lines.join('\n')}\n`;
}
