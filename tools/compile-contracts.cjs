// Rebuilds contracts/artifacts.json ({Contract: {abi, bytecode}}) offline with solcjs (npm solc@0.8.37).
// Usage: node tools/compile-contracts.cjs [out.json]   (default: contracts/artifacts.json)
const solc = require('solc');
const fs = require('fs');
const path = require('path');

const dir = path.join(__dirname, '..', 'contracts');
const out = process.argv[2] || path.join(dir, 'artifacts.json');
const sources = {};
for (const file of fs.readdirSync(dir).filter((f) => f.endsWith('.sol')).sort()) {
  sources[file] = { content: fs.readFileSync(path.join(dir, file), 'utf8') };
}
const input = {
  language: 'Solidity',
  sources,
  settings: {
    optimizer: { enabled: true, runs: 200 },
    evmVersion: 'cancun',
    outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object'] } },
  },
};
const result = JSON.parse(solc.compile(JSON.stringify(input)));
for (const e of result.errors || []) console.error(e.formattedMessage);
if ((result.errors || []).some((e) => e.severity === 'error')) process.exit(1);
const artifacts = {};
for (const file of Object.keys(result.contracts).sort()) {
  for (const [name, c] of Object.entries(result.contracts[file])) {
    artifacts[name] = { abi: c.abi, bytecode: '0x' + c.evm.bytecode.object };
  }
}
fs.writeFileSync(out, JSON.stringify(artifacts, null, 1) + '\n');
