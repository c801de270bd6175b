// Brotli (quality 11) copies of the page's assets, built once so that no request pays
// for them: `node infra/precompress.mjs DIR FILE...` writes DIR/FILE.<sha>.br for each
// FILE, named by the first 16 hex digits of FILE's SHA-256 (the UI function serves a copy
// only while it matches the file beside it), unless it is there, and removes older
// copies of FILE.
import { brotliCompressSync, constants } from "node:zlib";
import { createHash } from "node:crypto";
import { existsSync, readFileSync, readdirSync, renameSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const [dir, ...files] = process.argv.slice(2);
for (const file of files) {
  const data = readFileSync(join(dir, file));
  const sha = createHash("sha256").update(data).digest("hex").slice(0, 16);
  const name = `${file}.${sha}.br`;
  if (!existsSync(join(dir, name))) {
    const packed = brotliCompressSync(data, {
      params: {
        [constants.BROTLI_PARAM_QUALITY]: 11,
        [constants.BROTLI_PARAM_SIZE_HINT]: data.length,
      },
    });
    // Written beside, then moved in whole: a running `make dev` may serve it meanwhile.
    writeFileSync(join(dir, `.${name}`), packed);
    renameSync(join(dir, `.${name}`), join(dir, name));
  }
  for (const old of readdirSync(dir)) {
    if (old !== name && old.startsWith(`${file}.`) && old.endsWith(".br")) unlinkSync(join(dir, old));
  }
}
