package io.wharf.core.upstream;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Parser for {@code WWW-Authenticate} header values (RFC 9110 §11.6.1): one or more challenges per
 * value, each a scheme followed by either a token68 or comma-separated {@code name=value}
 * parameters whose values may be quoted strings with backslash escapes and commas inside.
 *
 * <p>Lenient on purpose: registries in the wild send odd spacing and unquoted URLs; anything that
 * cannot be read is skipped rather than failing the whole header.
 */
final class WwwAuthenticate {

  /** One challenge: scheme as sent, parameter names lower-cased. */
  record Challenge(String scheme, Map<String, String> params, String token68) {
    boolean is(String name) {
      return scheme.equalsIgnoreCase(name);
    }

    String param(String name) {
      return params.get(name.toLowerCase(Locale.ROOT));
    }
  }

  private WwwAuthenticate() {}

  /** All challenges in all the given header values, in order. */
  static List<Challenge> parse(List<String> headerValues) {
    List<Challenge> out = new ArrayList<>();
    for (String v : headerValues) {
      out.addAll(parse(v));
    }
    return out;
  }

  static List<Challenge> parse(String header) {
    if (header == null || header.isBlank()) {
      return List.of();
    }
    return new Parser(header).challenges();
  }

  private static final class Parser {
    private final String s;
    private int pos;

    Parser(String s) {
      this.s = s;
    }

    List<Challenge> challenges() {
      List<Challenge> out = new ArrayList<>();
      String scheme = null;
      Map<String, String> params = null;
      String token68 = null;
      while (true) {
        skipWhitespaceAndCommas();
        if (pos >= s.length()) {
          break;
        }
        String name = readToken();
        if (name.isEmpty()) {
          pos++; // a character that starts nothing we know: skip it
          continue;
        }
        skipWhitespace();
        if (peek() == '=') {
          pos++;
          skipWhitespace();
          String value = peek() == '"' ? readQuoted() : readUntilDelimiter();
          if (params != null) {
            params.putIfAbsent(name.toLowerCase(Locale.ROOT), value);
          }
          continue;
        }
        if (scheme != null) {
          out.add(new Challenge(scheme, Map.copyOf(params), token68));
        }
        scheme = name;
        params = new LinkedHashMap<>();
        token68 = readToken68OrNull();
      }
      if (scheme != null) {
        out.add(new Challenge(scheme, Map.copyOf(params), token68));
      }
      return List.copyOf(out);
    }

    /** A token68 directly after the scheme, standing alone up to a comma or the end. */
    private String readToken68OrNull() {
      int mark = pos;
      skipWhitespace();
      int start = pos;
      while (pos < s.length() && isToken68Char(s.charAt(pos))) {
        pos++;
      }
      if (pos == start) {
        pos = mark;
        return null;
      }
      while (pos < s.length() && s.charAt(pos) == '=') {
        pos++;
      }
      int end = pos;
      skipWhitespace();
      if (pos >= s.length() || s.charAt(pos) == ',') {
        String t = s.substring(start, end);
        // "realm=" alone would look like a token68; a param always has a value after '='.
        return t;
      }
      pos = mark;
      return null;
    }

    private String readToken() {
      int start = pos;
      while (pos < s.length() && isTokenChar(s.charAt(pos))) {
        pos++;
      }
      return s.substring(start, pos);
    }

    private String readUntilDelimiter() {
      int start = pos;
      while (pos < s.length() && s.charAt(pos) != ',' && !Character.isWhitespace(s.charAt(pos))) {
        pos++;
      }
      return s.substring(start, pos);
    }

    private String readQuoted() {
      StringBuilder b = new StringBuilder();
      pos++; // opening quote
      while (pos < s.length()) {
        char c = s.charAt(pos++);
        if (c == '\\' && pos < s.length()) {
          b.append(s.charAt(pos++));
        } else if (c == '"') {
          return b.toString();
        } else {
          b.append(c);
        }
      }
      return b.toString(); // unterminated: take what is there
    }

    private char peek() {
      return pos < s.length() ? s.charAt(pos) : '\0';
    }

    private void skipWhitespace() {
      while (pos < s.length() && (s.charAt(pos) == ' ' || s.charAt(pos) == '\t')) {
        pos++;
      }
    }

    private void skipWhitespaceAndCommas() {
      while (pos < s.length() && (s.charAt(pos) == ' ' || s.charAt(pos) == '\t' || s.charAt(pos) == ',')) {
        pos++;
      }
    }

    private static boolean isTokenChar(char c) {
      return (c >= 'a' && c <= 'z')
          || (c >= 'A' && c <= 'Z')
          || (c >= '0' && c <= '9')
          || "!#$%&'*+-.^_`|~".indexOf(c) >= 0;
    }

    private static boolean isToken68Char(char c) {
      return (c >= 'a' && c <= 'z')
          || (c >= 'A' && c <= 'Z')
          || (c >= '0' && c <= '9')
          || "-._~+/".indexOf(c) >= 0;
    }
  }
}
