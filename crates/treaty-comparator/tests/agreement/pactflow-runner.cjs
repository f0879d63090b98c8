// Runs PactFlow's comparator (@pactflow/openapi-pact-comparator) on a batch of
// (OpenAPI document, pact) pairs in one node process and prints its results as
// JSON, so the agreement test and the speed example compare Treaty with it.
//
// Usage: node pactflow-runner.cjs <comparator package dir> <batch.json>
// batch.json: {"documents": {"<id>": <OpenAPI document as JSON>},
//              "pairs": [{"document": "<id>", "pact": <pact>}],
//              "repeat": <times each pair is compared, for timing; default 1>}
// Prints: [{"results": [<Result>...], "error": "<message>"?, "coldMillis", "warmMillis"}]
// where coldMillis includes building the Comparator (it compiles schemas
// lazily, on first use) and warmMillis is the fastest repeat after that.
"use strict";

const fs = require("node:fs");
const path = require("node:path");

async function main() {
  const [packageDir, batchFile] = process.argv.slice(2);
  const { Comparator } = require(path.join(packageDir, "dist", "index.cjs"));
  const batch = JSON.parse(fs.readFileSync(batchFile, "utf8"));
  const repeat = Math.max(1, batch.repeat || 1);
  const comparators = new Map();
  const output = [];
  for (const pair of batch.pairs) {
    const entry = { results: [], coldMillis: null, warmMillis: null };
    try {
      const pact = structuredClone(pair.pact);
      const started = process.hrtime.bigint();
      let comparator = comparators.get(pair.document);
      if (!comparator) {
        // A comparator per document, reused across its pacts, as the library intends.
        comparator = new Comparator({ oas: structuredClone(batch.documents[pair.document]) });
        comparators.set(pair.document, comparator);
      }
      for await (const result of comparator.compare(pact)) {
        entry.results.push(result);
      }
      entry.coldMillis = Number(process.hrtime.bigint() - started) / 1e6;
      for (let i = 1; i < repeat; i++) {
        const pact = structuredClone(pair.pact);
        const again = process.hrtime.bigint();
        for await (const _ of comparator.compare(pact)) {
          // drained for timing only
        }
        const millis = Number(process.hrtime.bigint() - again) / 1e6;
        entry.warmMillis = entry.warmMillis === null ? millis : Math.min(entry.warmMillis, millis);
      }
    } catch (error) {
      entry.error = String(error && error.stack ? error.stack : error);
    }
    output.push(entry);
  }
  process.stdout.write(JSON.stringify(output));
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
