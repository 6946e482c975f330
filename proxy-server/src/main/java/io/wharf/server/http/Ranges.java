package io.wharf.server.http;

/**
 * Single-range {@code Range: bytes=...} parsing (RFC 9110 §14.2). Multiple ranges and malformed
 * headers are ignored (a 200 with the whole body is a valid answer to both).
 */
public final class Ranges {
  private Ranges() {}

  /** A requested range; resolve it against the length with {@link #resolve}. */
  public record Spec(long first, long last, long suffix) {
    /** The inclusive [start, end] for {@code length}, or null when unsatisfiable. */
    public long[] resolve(long length) {
      if (suffix >= 0) {
        if (suffix == 0 || length == 0) {
          return null;
        }
        long n = Math.min(suffix, length);
        return new long[] {length - n, length - 1};
      }
      if (first >= length) {
        return null;
      }
      long end = last < 0 ? length - 1 : Math.min(last, length - 1);
      return new long[] {first, end};
    }
  }

  /** Parses a Range header; null when absent, malformed or multi-range (serve the whole body). */
  public static Spec parse(String header) {
    if (header == null) {
      return null;
    }
    String h = header.trim();
    if (!h.regionMatches(true, 0, "bytes=", 0, 6)) {
      return null;
    }
    String spec = h.substring(6).trim();
    if (spec.contains(",")) {
      return null;
    }
    int dash = spec.indexOf('-');
    if (dash < 0) {
      return null;
    }
    try {
      String a = spec.substring(0, dash).trim();
      String b = spec.substring(dash + 1).trim();
      // Digits only: no signs, no second dash ("bytes=--1", "bytes=5--3", "bytes=+5-").
      if (!a.chars().allMatch(Character::isDigit) || !b.chars().allMatch(Character::isDigit)) {
        return null;
      }
      if (a.isEmpty()) {
        if (b.isEmpty()) {
          return null;
        }
        return new Spec(-1, -1, Long.parseLong(b));
      }
      long first = Long.parseLong(a);
      long last = b.isEmpty() ? -1 : Long.parseLong(b);
      if (first < 0 || (last >= 0 && last < first)) {
        return null;
      }
      return new Spec(first, last, -1);
    } catch (NumberFormatException e) {
      return null;
    }
  }
}
