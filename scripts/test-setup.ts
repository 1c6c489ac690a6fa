/**
 * `npm test`'s own set-up: the Redis store's tests start real `redis-server`
 * processes (and `redis-cli` for a cluster). Installs them where they are
 * missing and the machine allows it (root on Debian/Ubuntu, as CI is);
 * otherwise stops at once with the one command to run.
 */
import { execFileSync, spawnSync } from "node:child_process"

const has = (command: string): boolean => spawnSync(command, ["--version"], { stdio: "ignore" }).error === undefined

if (!has("redis-server") || !has("redis-cli")) {
  const canInstall = process.platform === "linux" && process.getuid?.() === 0 && has("apt-get")
  if (!canInstall) {
    console.error(
      "npm test needs redis-server and redis-cli on the PATH (the Redis store's tests start their own): " +
        "install them (Debian/Ubuntu: sudo apt-get install redis-server; macOS: brew install redis), then run npm test again."
    )
    process.exit(1)
  }
  console.log("npm test: installing redis-server (Debian package) for the Redis store's tests…")
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" }
  execFileSync("apt-get", ["update", "-qq"], { stdio: ["ignore", "ignore", "inherit"], env })
  execFileSync("apt-get", ["install", "-y", "-qq", "--no-install-recommends", "redis-server"], {
    stdio: ["ignore", "ignore", "inherit"],
    env
  })
}
