// Encodes strings with an npm tokenizer package, for tests/loaders/tokenizer_npm_test.cpp.
//
//   node encode.mjs <js|rust> <tokenizer.json> <strings.jsonl> <out.jsonl> [--ids-only]
//
// js:   @huggingface/tokenizers, the pure JavaScript port (Tokenizers.js)
// rust: tokenizers, Hugging Face's Node binding of the Rust crate (binary shipped in the package)
//
// strings.jsonl holds one JSON string per line; out.jsonl gets one line per string:
// {"ids": [...], "ids_with_special": [...], "decoded": "..."} where ids leave special tokens
// out, ids_with_special let the post-processor add them, and decoded is decode(ids).
import { readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";

const [impl, tokenizerPath, stringsPath, outPath, flag] = process.argv.slice(2);
const idsOnly = flag === "--ids-only";
if (!outPath || !["js", "rust"].includes(impl) || (flag !== undefined && !idsOnly)) {
  console.error("usage: node encode.mjs <js|rust> <tokenizer.json> <strings.jsonl> <out.jsonl> [--ids-only]");
  process.exit(2);
}
const strings = readFileSync(stringsPath, "utf8")
  .split("\n")
  .filter((line) => line.length > 0)
  .map((line) => JSON.parse(line));

let encode;
if (impl === "js") {
  const { Tokenizer } = await import("@huggingface/tokenizers");
  const json = JSON.parse(readFileSync(tokenizerPath, "utf8"));
  // clean_up_tokenization_spaces would rewrite " ." in decoded text; the Rust crate does not.
  const tokenizer = new Tokenizer(json, { clean_up_tokenization_spaces: false });
  encode = async (s) => {
    const ids = tokenizer.encode(s, { add_special_tokens: false }).ids;
    const withSpecial = tokenizer.encode(s, { add_special_tokens: true }).ids;
    const decoded = ids.length > 0 ? tokenizer.decode(ids) : "";
    return { ids, ids_with_special: withSpecial, decoded };
  };
} else {
  const require = createRequire(import.meta.url);
  const { Tokenizer } = require("tokenizers");
  const tokenizer = Tokenizer.fromFile(tokenizerPath);
  encode = async (s) => {
    const ids = (await tokenizer.encode(s, null, { addSpecialTokens: false })).getIds();
    const withSpecial = (await tokenizer.encode(s, null, { addSpecialTokens: true })).getIds();
    const decoded = await tokenizer.decode(ids, false);
    return { ids, ids_with_special: withSpecial, decoded };
  };
}

const lines = [];
for (const s of strings) {
  const result = await encode(s);
  lines.push(JSON.stringify(idsOnly ? result.ids : result));
}
writeFileSync(outPath, lines.join("\n") + "\n");
console.log(`${impl}: encoded ${strings.length} strings with ${tokenizerPath} -> ${outPath}`);
