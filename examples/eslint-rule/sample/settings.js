export const labels = {
  blocked: "Senders on the blacklist",
  allowed: "Trusted senders"
}
