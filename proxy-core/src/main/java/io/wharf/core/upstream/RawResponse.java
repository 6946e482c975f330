package io.wharf.core.upstream;

import java.util.List;
import java.util.Map;

/**
 * A small upstream response passed through to the client as is (tags list, referrers).
 *
 * @param status HTTP status
 * @param headers response headers (lower-case names)
 * @param body the body bytes
 */
public record RawResponse(int status, Map<String, List<String>> headers, byte[] body) {
  public String header(String name) {
    List<String> v = headers.get(name.toLowerCase(java.util.Locale.ROOT));
    return v == null || v.isEmpty() ? null : v.get(0);
  }
}
