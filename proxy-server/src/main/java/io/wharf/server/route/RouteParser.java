package io.wharf.server.route;

import io.wharf.core.oci.Digest;
import io.wharf.core.oci.ErrorCode;
import io.wharf.core.oci.InvalidReferenceException;
import io.wharf.core.oci.Reference;
import io.wharf.core.oci.RepositoryName;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Parses a request target into a {@link Route}, validating as it goes. Percent-encoding is decoded
 * strictly per segment: malformed escapes, {@code %00}, encoded {@code /} and anything that does
 * not decode to a valid name, tag or digest is rejected with 400 before any upstream request or
 * file path is built.
 */
public final class RouteParser {
  private static final int MAX_URI = 8192;

  private RouteParser() {}

  public static Route parse(String uri) {
    if (uri.length() > MAX_URI) {
      throw new InvalidReferenceException(ErrorCode.NAME_INVALID, "request URI too long");
    }
    // Absolute form ("GET http://host/v2/..."): servers must accept it; only the path matters.
    if (uri.regionMatches(true, 0, "http://", 0, 7) || uri.regionMatches(true, 0, "https://", 0, 8)) {
      int slash = uri.indexOf('/', uri.indexOf("//") + 2);
      uri = slash < 0 ? "/" : uri.substring(slash);
    }
    int q = uri.indexOf('?');
    String rawPath = q < 0 ? uri : uri.substring(0, q);
    String query = q < 0 ? "" : uri.substring(q + 1);
    int hash = query.indexOf('#');
    if (hash >= 0) {
      query = query.substring(0, hash);
    }
    switch (rawPath) {
      case "/metrics":
        return new Route.Metrics();
      case "/healthz":
        return new Route.Health(false);
      case "/readyz":
        return new Route.Health(true);
      case "/v2", "/v2/":
        return new Route.Base();
      default:
        break;
    }
    if (!rawPath.startsWith("/v2/")) {
      return new Route.NotFound(rawPath);
    }
    List<String> segs = decodeSegments(rawPath.substring(4));
    String ns = queryParam(query, "ns");
    int n = segs.size();
    if (n >= 3 && segs.get(n - 3).equals("blobs") && segs.get(n - 2).equals("uploads")) {
      return new Route.Unsupported("blob upload");
    }
    if (n >= 2 && segs.get(n - 2).equals("blobs") && segs.get(n - 1).equals("uploads")) {
      return new Route.Unsupported("blob upload");
    }
    if (n == 1 && segs.get(0).equals("_catalog")) {
      return new Route.Unsupported("catalog listing");
    }
    if (n < 3) {
      return new Route.NotFound(rawPath);
    }
    String kind = segs.get(n - 2);
    String last = segs.get(n - 1);
    String name = String.join("/", segs.subList(0, n - 2));
    switch (kind) {
      case "manifests":
        return new Route.Manifest(RepositoryName.of(name), Reference.parse(last), ns);
      case "blobs":
        return new Route.Blob(RepositoryName.of(name), Digest.parse(last), ns);
      case "referrers":
        return new Route.Referrers(RepositoryName.of(name), Digest.parse(last),
            referrersQuery(query), ns);
      case "tags":
        if (last.equals("list")) {
          return new Route.Tags(RepositoryName.of(name), tagsQuery(query), ns);
        }
        return new Route.NotFound(rawPath);
      default:
        // Something that is neither a known endpoint nor a valid name: say which.
        RepositoryName.of(String.join("/", segs.subList(0, n - 1)));
        return new Route.NotFound(rawPath);
    }
  }

  /** Splits on {@code /} and percent-decodes each segment strictly. */
  static List<String> decodeSegments(String rawPath) {
    List<String> out = new ArrayList<>();
    int start = 0;
    for (int i = 0; i <= rawPath.length(); i++) {
      if (i == rawPath.length() || rawPath.charAt(i) == '/') {
        out.add(decode(rawPath.substring(start, i)));
        start = i + 1;
      }
    }
    if (out.size() > 1 && out.get(out.size() - 1).isEmpty()) {
      // a trailing slash is tolerated; any other empty segment fails name validation
      out.remove(out.size() - 1);
    }
    return out;
  }

  static String decode(String seg) {
    if (seg.indexOf('%') < 0) {
      checkChars(seg);
      return seg;
    }
    ByteArrayOutputStream bytes = new ByteArrayOutputStream(seg.length());
    for (int i = 0; i < seg.length(); i++) {
      char c = seg.charAt(i);
      if (c == '%') {
        if (i + 2 >= seg.length()) {
          throw bad("truncated percent-escape in path");
        }
        int hi = Character.digit(seg.charAt(i + 1), 16);
        int lo = Character.digit(seg.charAt(i + 2), 16);
        if (hi < 0 || lo < 0) {
          throw bad("invalid percent-escape in path");
        }
        int b = (hi << 4) | lo;
        if (b == 0 || b == '/' || b == '\\') {
          throw bad("forbidden escaped character in path");
        }
        bytes.write(b);
        i += 2;
      } else {
        bytes.write(c);
      }
    }
    String s = new String(bytes.toByteArray(), StandardCharsets.UTF_8);
    checkChars(s);
    return s;
  }

  private static void checkChars(String s) {
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c < 0x21 || c > 0x7e) {
        throw bad("invalid character in path");
      }
    }
  }

  private static io.wharf.core.oci.RegistryException badQuery(String msg) {
    return new io.wharf.core.oci.RegistryException(ErrorCode.UNSUPPORTED, 400, msg, null);
  }

  private static InvalidReferenceException bad(String msg) {
    return new InvalidReferenceException(ErrorCode.NAME_INVALID, msg);
  }

  /**
   * The upstream query for {@code tags/list}: only {@code n} (a count) and {@code last} (a tag),
   * validated and re-encoded; anything else the client sent is dropped.
   */
  static String tagsQuery(String query) {
    String n = queryParam(query, "n");
    String last = queryParam(query, "last");
    StringBuilder q = new StringBuilder();
    if (n != null && !n.isEmpty()) {
      if (n.length() > 9 || !n.chars().allMatch(Character::isDigit)) {
        throw new InvalidReferenceException(ErrorCode.PAGINATION_NUMBER_INVALID,
            "n must be a number");
      }
      q.append("n=").append(n);
    }
    if (last != null && !last.isEmpty()) {
      Reference.Tag t;
      try {
        t = new Reference.Tag(last);
      } catch (InvalidReferenceException e) {
        throw badQuery("last must be a tag");
      }
      q.append(q.length() == 0 ? "" : "&").append("last=").append(t.value());
    }
    return q.toString();
  }

  /** The upstream query for referrers: only a valid {@code artifactType}, re-encoded. */
  static String referrersQuery(String query) {
    String type = queryParam(query, "artifactType");
    if (type == null || type.isEmpty()) {
      return "";
    }
    if (!io.wharf.core.oci.MediaTypes.isValid(type)) {
      throw badQuery("artifactType must be a media type");
    }
    return "artifactType=" + java.net.URLEncoder.encode(type, StandardCharsets.UTF_8);
  }

  /** The first value of {@code key} in a raw query string (decoded), or null. */
  public static String queryParam(String query, String key) {
    if (query == null || query.isEmpty()) {
      return null;
    }
    for (String part : query.split("&")) {
      int eq = part.indexOf('=');
      String k = eq < 0 ? part : part.substring(0, eq);
      if (k.equals(key)) {
        return eq < 0 ? "" : decodeQueryValue(part.substring(eq + 1));
      }
    }
    return null;
  }

  private static String decodeQueryValue(String v) {
    try {
      return java.net.URLDecoder.decode(v, StandardCharsets.UTF_8);
    } catch (IllegalArgumentException e) {
      throw bad("invalid percent-escape in query");
    }
  }
}
