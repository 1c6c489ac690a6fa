export const help = "Ask an admin to add your e-mail domain to the whitelist."
export const placeholder = "dummy value"
export const ok = "Nothing to say about this one."
export const count = 42
