import wabtInit from 'wabt';

/** The WebAssembly binary of a .wat text, as wabt assembles it. */
export async function compileWat(text: string): Promise<Uint8Array> {
  const wabt = await wabtInit();
  const mod = wabt.parseWat('xxh64.wat', text);
  try {
    mod.validate();
    return mod.toBinary({}).buffer;
  } finally {
    mod.destroy();
  }
}
