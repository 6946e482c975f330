package io.wharf.core.prefetch;

import io.wharf.core.oci.Digest;
import io.wharf.core.oci.Reference;
import io.wharf.core.oci.RepositoryName;
import java.util.Locale;

/**
 * An image reference as people type it: {@code [registry/]repository[:tag][@digest]}. The first
 * component is a registry host when it contains a dot or a colon or is {@code localhost} (the
 * Docker convention); otherwise the reference is routed like a request without {@code ns} (an
 * upstream name as first component, else the default upstream). No tag means {@code latest}; a
 * digest wins over a tag.
 *
 * @param registry the registry host ({@code ghcr.io}, {@code host:5000}) or null
 * @param repository the repository as typed (validated)
 * @param reference tag or digest (validated)
 */
public record ImageRef(String registry, RepositoryName repository, Reference reference) {

  /** Parses {@code text}; throws {@link IllegalArgumentException} saying what is wrong. */
  public static ImageRef parse(String text) {
    if (text == null || text.isBlank()) {
      throw new IllegalArgumentException("empty image reference");
    }
    String s = text.strip();
    if (s.length() > 1024) {
      throw new IllegalArgumentException("image reference longer than 1024 characters");
    }
    String registry = null;
    int slash = s.indexOf('/');
    if (slash > 0) {
      String first = s.substring(0, slash);
      if (first.contains(".") || first.contains(":") || first.equals("localhost")) {
        registry = first.toLowerCase(Locale.ROOT);
        s = s.substring(slash + 1);
      }
    }
    String ref = null;
    int at = s.indexOf('@');
    if (at >= 0) {
      ref = s.substring(at + 1);
      s = s.substring(0, at);
    }
    int colon = s.lastIndexOf(':');
    String tag = null;
    if (colon >= 0) {
      tag = s.substring(colon + 1);
      s = s.substring(0, colon);
    }
    try {
      RepositoryName name = new RepositoryName(s);
      Reference r;
      if (ref != null) {
        if (!Digest.looksLikeDigest(ref)) {
          throw new IllegalArgumentException("'" + show(text) + "': after @ must come a"
              + " digest (sha256:<64 hex>)");
        }
        r = Reference.parse(ref);
      } else {
        r = new Reference.Tag(tag == null ? "latest" : tag);
      }
      return new ImageRef(registry, name, r);
    } catch (RuntimeException e) {
      if (e instanceof IllegalArgumentException iae) {
        throw iae;
      }
      throw new IllegalArgumentException(
          "invalid image reference '" + show(text) + "': " + e.getMessage(), e);
    }
  }

  private static String show(String s) {
    String t = s.length() > 200 ? s.substring(0, 200) + "..." : s;
    return t.replaceAll("[^\\x20-\\x7e]", "?");
  }

  @Override
  public String toString() {
    return (registry == null ? "" : registry + "/") + repository
        + (reference instanceof Reference.ByDigest ? "@" : ":") + reference.value();
  }
}
