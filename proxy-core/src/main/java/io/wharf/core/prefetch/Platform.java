package io.wharf.core.prefetch;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.regex.Pattern;

/**
 * A platform filter, {@code os/architecture[/variant]} as in {@code docker pull --platform}.
 *
 * @param variant null when not given (then any variant matches)
 */
public record Platform(String os, String architecture, String variant) {
  private static final Pattern PART = Pattern.compile("[a-z0-9._-]{1,64}");

  /** Parses {@code linux/amd64}, {@code linux/arm64/v8}; {@link IllegalArgumentException} else. */
  public static Platform parse(String text) {
    String[] p = text == null ? new String[0] : text.strip().split("/", -1);
    if (p.length < 2 || p.length > 3) {
      throw new IllegalArgumentException("invalid platform '" + text
          + "': expected os/architecture[/variant], e.g. linux/amd64");
    }
    for (String part : p) {
      if (!PART.matcher(part).matches()) {
        throw new IllegalArgumentException("invalid platform '" + text + "'");
      }
    }
    return new Platform(p[0], p[1], p.length == 3 ? p[2] : null);
  }

  /**
   * Whether an index entry's {@code platform} object matches. An {@code arm64} entry without a
   * variant counts as {@code v8} (registries often omit it).
   */
  public boolean matches(JsonNode platform) {
    if (platform == null || !os.equals(platform.path("os").asText())
        || !architecture.equals(platform.path("architecture").asText())) {
      return false;
    }
    if (variant == null) {
      return true;
    }
    String v = platform.path("variant").asText("");
    if (v.isEmpty() && architecture.equals("arm64")) {
      v = "v8";
    }
    return variant.equals(v);
  }

  @Override
  public String toString() {
    return os + "/" + architecture + (variant == null ? "" : "/" + variant);
  }
}
