// The client's public option and result types.
export interface ConnectOptions {
  /** tinyd's socket; default `$XDG_RUNTIME_DIR/tinyfile/tinyd.sock` or `/tmp/tinyfile-$UID/tinyd.sock`. */
  socket?: string;
  /**
   * Also trust a daemon running as this uid. By default the client refuses
   * (ERR_TINYFILE_UNTRUSTED_DAEMON, before sending anything) a daemon that
   * runs as another user than this process or root.
   */
  daemonUid?: number;
  /** After the daemon dies, reconnect when it is back (calls in between fail). Default false. */
  reconnect?: boolean;
  /** Segments to ask for (pipelining depth); the daemon may grant fewer. Default: the daemon's choice. */
  segments?: number;
  /** 0-7; only used by a daemon started with --qos. Default 0. */
  priority?: number;
  /** How long to wait for a free segment when registering. Default 10 s. */
  connectTimeout?: number;
  /** Largest output `decompress` accepts from a block's length preamble. Default 2 GiB - 1. */
  maxOutputLength?: number;
}

export interface FileOptions {
  /** Called after each chunk with the input bytes done and the input's total size. */
  onProgress?: (done: number, total: number) => void;
}

export interface FileResult {
  bytesIn: number;
  bytesOut: number;
}

export interface ClientStats {
  chunks: number;
  /** Most chunks of other work tinyd dispatched while one of ours was ready and waiting. */
  maxWaitedChunks: number;
  /** Times the client woke up to take answers (a multi-chunk compress() is answered at once: one wake-up). */
  wakeUps: number;
}
