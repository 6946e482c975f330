package io.wharf.server.http;

/**
 * Client-supplied text (request targets, user names from Basic credentials, header values) made
 * safe for a text log line: control characters — line breaks that would start a forged line,
 * terminal escapes — and Unicode line separators become visible hex escapes (backslash-x,
 * backslash-u), and very long values are cut. The JSON log format escapes on its own.
 */
public final class LogSafe {
  private static final int MAX = 2048;

  private LogSafe() {}

  public static String text(String s) {
    if (s == null) {
      return null;
    }
    int n = Math.min(s.length(), MAX);
    StringBuilder out = null;
    for (int i = 0; i < n; i++) {
      char c = s.charAt(i);
      boolean bad = c < 0x20 || c == 0x7f || (c >= 0x80 && c < 0xa0) || c == '\u2028'
          || c == '\u2029';
      if (bad && out == null) {
        out = new StringBuilder(n + 16).append(s, 0, i);
      }
      if (out != null) {
        if (bad) {
          out.append(c < 0x100 ? String.format("\\x%02x", (int) c) : String.format("\\u%04x", (int) c));
        } else {
          out.append(c);
        }
      }
    }
    String r = out == null ? s.substring(0, n) : out.toString();
    return s.length() > MAX ? r + "...(" + s.length() + " chars)" : r;
  }
}
