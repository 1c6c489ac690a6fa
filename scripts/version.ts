/**
 * `npm run changeset-version`'s second step, after `changeset version` has given the three
 * packages their next version (one version for all: they are a fixed group). Each package's
 * peer range on its siblings becomes `>=<that version> <1.0.0` (`^<version>` from 1.0 on): the
 * floor is the release it was built with, and the range admits the next 0.x minors, so that
 * changesets does not turn every minor of @crochet/core into a major of its dependents (it
 * does when a release leaves a peer range, as a 0.x minor leaves `^0.x`).
 */
import { readFileSync, writeFileSync } from "node:fs"
import { fileURLToPath } from "node:url"

const root = fileURLToPath(new URL("..", import.meta.url))
const dirs = ["core", "platform-node", "redis-store"]
const manifests = dirs.map((dir) => {
  const path = `${root}packages/${dir}/package.json`
  return { path, json: JSON.parse(readFileSync(path, "utf8")) }
})
const versions = new Set(manifests.map(({ json }) => json.version))
if (versions.size !== 1) {
  throw new Error(`the packages should share one version (a fixed group); they have ${[...versions].join(", ")}`)
}
const version: string = [...versions][0]
const range = version.startsWith("0.") ? `>=${version} <1.0.0` : `^${version}`
for (const { json, path } of manifests) {
  for (const name of Object.keys(json.peerDependencies ?? {}).filter((name) => name.startsWith("@crochet/"))) {
    json.peerDependencies[name] = range
  }
  writeFileSync(path, `${JSON.stringify(json, null, 2)}\n`)
}
console.log(`@crochet/* peer ranges: ${range}`)
