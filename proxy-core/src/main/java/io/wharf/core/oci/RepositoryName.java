package io.wharf.core.oci;

import java.util.regex.Pattern;

/**
 * A validated repository name, e.g. {@code library/nginx}.
 *
 * <p>Grammar from the OCI distribution spec ("Pulling manifests"): path components of lowercase
 * alphanumerics separated by {@code .}, {@code _}, {@code __} or runs of {@code -}, joined by
 * {@code /}; at most 255 characters. Rejects {@code ..}, empty components and uppercase.
 */
public record RepositoryName(String value) {

  public static final int MAX_LENGTH = 255;

  private static final Pattern NAME =
      Pattern.compile(
          "[a-z0-9]+(?:(?:\\.|_|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:\\.|_|__|-+)[a-z0-9]+)*)*");

  public RepositoryName {
    if (value == null || value.isEmpty()) {
      throw new InvalidReferenceException(ErrorCode.NAME_INVALID, "empty repository name");
    }
    if (value.length() > MAX_LENGTH) {
      throw new InvalidReferenceException(
          ErrorCode.NAME_INVALID,
          "repository name longer than " + MAX_LENGTH + " characters: " + Digest.shorten(value));
    }
    if (!NAME.matcher(value).matches()) {
      throw new InvalidReferenceException(
          ErrorCode.NAME_INVALID, "invalid repository name: " + Digest.shorten(value));
    }
  }

  public static RepositoryName of(String value) {
    return new RepositoryName(value);
  }

  /** Number of {@code /}-separated components. */
  public int components() {
    return (int) value.chars().filter(c -> c == '/').count() + 1;
  }

  /** The first path component. */
  public String firstComponent() {
    int slash = value.indexOf('/');
    return slash < 0 ? value : value.substring(0, slash);
  }

  /** The name without its first component, or null if it has only one. */
  public RepositoryName withoutFirstComponent() {
    int slash = value.indexOf('/');
    return slash < 0 ? null : new RepositoryName(value.substring(slash + 1));
  }

  public RepositoryName withPrefix(String prefix) {
    return new RepositoryName(prefix + "/" + value);
  }

  @Override
  public String toString() {
    return value;
  }
}
