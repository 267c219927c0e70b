// URLs as the node's logs, health reports and journal show them: without credentials.

/** A URL without its user and password, for logs and health reports. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url)
    if (u.username === '' && u.password === '') return url
    u.username = ''
    u.password = ''
    return u.toString()
  } catch {
    return url
  }
}

/** `scheme://host:port` of a URL, without credentials, path or query (which may hold an API key). */
export function urlOrigin(url: string): string {
  try {
    const u = new URL(url)
    return `${u.protocol}//${u.host}`
  } catch {
    return 'unparsable URL'
  }
}
