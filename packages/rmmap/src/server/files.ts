import fs from 'node:fs';
import path from 'node:path';

import * as sys from '@shmkit/shm-fd/sys';

import { RmmapError } from '../errors';
import { openConfined } from './confine';

/**
 * One open file of the served root. Owns `fd` and every Section's Mapping;
 * closed (fsync + close) when its last section is unmapped.
 */
export class OpenFile {
  readonly sections = new Set<Section>();
  /** Bumped once per applied write; NOTIFY and DATA carry it (§4.5). */
  version = 0;
  /** The path relative to the root, as the write journal records it. */
  readonly relPath: string;
  /** `relPath` in UTF-8, encoded once rather than per journaled write. */
  readonly relPathBytes: Buffer;

  constructor(
    readonly table: FileTable,
    readonly fd: number,
    readonly realPath: string,
    readonly writable: boolean,
  ) {
    this.relPath = path.relative(table.rootReal, realPath);
    this.relPathBytes = Buffer.from(this.relPath, 'utf8');
  }

  get size(): number {
    return fs.fstatSync(this.fd).size;
  }

  /** fsync: the data and the file's metadata reach the disk. */
  fsync(): void {
    fs.fsyncSync(this.fd);
  }
}

/** A client's mapping: a Mapping of [offset, offset+length) of a file. */
export class Section {
  constructor(
    readonly id: number,
    readonly owner: object,
    readonly file: OpenFile,
    readonly offset: number,
    readonly length: number,
    readonly writable: boolean,
    readonly mapping: sys.Mapping,
  ) {}

  get end(): number {
    return this.offset + this.length;
  }
}

/** Opens files at most once and hands out sections of them. */
export class FileTable {
  readonly #files = new Map<string, OpenFile>();
  readonly #versions = new Map<string, number>();
  #nextId = 1;

  constructor(
    readonly rootReal: string,
    readonly readOnly: boolean,
  ) {}

  get openFiles(): number {
    return this.#files.size;
  }

  /** Maps part of `rel`; the length is clamped to the end of the file. */
  mapSection(owner: object, rel: string, offset: number, length: number, writable: boolean): Section {
    if (writable && this.readOnly) throw new RmmapError('ERR_RMMAP_READ_ONLY', 'the server runs with --read-only; map without write access');
    const confined = openConfined(this.rootReal, rel, !this.readOnly);
    let file = this.#files.get(confined.realPath);
    if (file !== undefined && writable && !file.writable && confined.writable && file.sections.size === 0) {
      this.#release(file);
      file = undefined;
    }
    if (file === undefined) {
      file = new OpenFile(this, confined.fd, confined.realPath, confined.writable);
      // Versions survive close and reopen, so a client revalidating its cache
      // after a reconnect can never see an old version number on new bytes.
      file.version = this.#versions.get(confined.realPath) ?? 0;
      this.#files.set(confined.realPath, file);
    } else {
      sys.close(confined.fd);
    }
    if (writable && !file.writable) {
      this.#maybeRelease(file);
      throw new RmmapError('EACCES', `${rel} is not writable by the server; map it read-only`);
    }
    try {
      const size = file.size;
      if (size === 0) throw new RmmapError('ERR_RMMAP_EMPTY_FILE', `${rel} is empty; rmmap maps existing bytes and does not grow files`);
      if (offset >= size) throw new RmmapError('ERR_RMMAP_RANGE', `offset ${offset} is at or past the end of ${rel} (${size} bytes)`);
      const len = Math.min(length, size - offset);
      const mapping = sys.map(file.fd, { offset, length: len, writable: file.writable });
      const section = new Section(this.#allocId(), owner, file, offset, len, writable, mapping);
      file.sections.add(section);
      return section;
    } catch (e) {
      this.#maybeRelease(file);
      throw e;
    }
  }

  /** msync the section; when it was the file's last one, fsync and close the file. */
  unmapSection(section: Section): void {
    const file = section.file;
    if (!file.sections.delete(section)) return;
    try {
      if (section.writable) section.mapping.sync();
    } finally {
      section.mapping.close();
      this.#maybeRelease(file);
    }
  }

  /** Every section of `file` overlapping file bytes [start, end). */
  overlapping(file: OpenFile, start: number, end: number): Section[] {
    const out: Section[] = [];
    for (const s of file.sections) if (s.offset < end && start < s.end) out.push(s);
    return out;
  }

  /** Sets the version a file starts from (the journal's, after a restart), so versions never go back (§4.5). */
  restoreVersion(relPath: string, version: number): void {
    const real = path.join(this.rootReal, relPath);
    const open = this.#files.get(real);
    if (open !== undefined) open.version = Math.max(open.version, version);
    else this.#versions.set(real, Math.max(this.#versions.get(real) ?? 0, version));
  }

  /** [path relative to the root, version] of every file written since start (for the journal's snapshot). */
  *versionEntries(): Generator<[string, number]> {
    for (const [real, version] of this.#versions) if (!this.#files.has(real)) yield [path.relative(this.rootReal, real), version];
    for (const file of this.#files.values()) yield [file.relPath, file.version];
  }

  closeAll(): void {
    for (const file of [...this.#files.values()]) {
      for (const s of [...file.sections]) this.unmapSection(s);
      this.#release(file);
    }
  }

  #allocId(): number {
    const id = this.#nextId;
    this.#nextId = this.#nextId >= 0xffffffff ? 1 : this.#nextId + 1;
    return id;
  }

  #maybeRelease(file: OpenFile): void {
    if (file.sections.size === 0) this.#release(file);
  }

  #release(file: OpenFile): void {
    if (this.#files.get(file.realPath) === file) this.#files.delete(file.realPath);
    this.#versions.set(file.realPath, file.version);
    try {
      if (file.writable) file.fsync();
    } finally {
      sys.close(file.fd);
    }
  }
}
