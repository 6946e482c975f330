package io.wharf.core.oci;

import java.util.List;
import java.util.Locale;
import java.util.Set;

/** Manifest media types Wharf knows, and the {@code Accept} classes tag records are kept by. */
public final class MediaTypes {
  public static final String OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
  public static final String OCI_INDEX = "application/vnd.oci.image.index.v1+json";
  public static final String DOCKER_MANIFEST =
      "application/vnd.docker.distribution.manifest.v2+json";
  public static final String DOCKER_MANIFEST_LIST =
      "application/vnd.docker.distribution.manifest.list.v2+json";
  public static final String DOCKER_MANIFEST_V1_SIGNED =
      "application/vnd.docker.distribution.manifest.v1+prettyjws";
  public static final String DOCKER_MANIFEST_V1 =
      "application/vnd.docker.distribution.manifest.v1+json";
  public static final String OCTET_STREAM = "application/octet-stream";
  public static final String JSON = "application/json";

  /** What Wharf asks the upstream for when the client sent no {@code Accept}. */
  public static final List<String> ALL_MANIFESTS =
      List.of(OCI_INDEX, OCI_MANIFEST, DOCKER_MANIFEST_LIST, DOCKER_MANIFEST);

  private static final Set<String> INDEX_TYPES = Set.of(OCI_INDEX, DOCKER_MANIFEST_LIST);

  /** RFC 6838 restricted names: {@code type/subtype}, nothing that could break a header. */
  private static final java.util.regex.Pattern VALID = java.util.regex.Pattern.compile(
      "[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}");

  /** What Wharf asks the upstream for, per class: the answer depends on the class alone. */
  public static String upstreamAccept(AcceptClass cls) {
    return cls == AcceptClass.INDEX
        ? String.join(", ", ALL_MANIFESTS)
        : OCI_MANIFEST + ", " + DOCKER_MANIFEST;
  }

  /** True for a syntactically valid media type without parameters. */
  public static boolean isValid(String mediaType) {
    return mediaType != null && VALID.matcher(mediaType).matches();
  }

  private MediaTypes() {}

  /**
   * Tag records are kept per class of {@code Accept}: a client that can take an index gets the
   * index; one that cannot must get what the upstream returns for its narrower {@code Accept}.
   */
  public enum AcceptClass {
    INDEX,
    SINGLE
  }

  /** The class of an {@code Accept} header value (absent or wildcard counts as index-capable). */
  public static AcceptClass classify(String accept) {
    if (accept == null || accept.isBlank()) {
      return AcceptClass.INDEX;
    }
    String lower = accept.toLowerCase(Locale.ROOT);
    for (String index : INDEX_TYPES) {
      if (lower.contains(index)) {
        return AcceptClass.INDEX;
      }
    }
    if (lower.contains("*/*")) {
      return AcceptClass.INDEX;
    }
    return AcceptClass.SINGLE;
  }

  /**
   * Whether a client that sent {@code accept} takes {@code mediaType}. No {@code Accept}, a
   * wildcard, or a type that appears in it (parameters and quality values ignored) all count.
   */
  public static boolean accepts(String accept, String mediaType) {
    if (accept == null || accept.isBlank()) {
      return true;
    }
    for (String part : accept.split(",")) {
      String type = part.split(";", 2)[0].trim().toLowerCase(Locale.ROOT);
      if (type.equals("*/*") || type.equals("application/*") || type.equals(mediaType)) {
        return true;
      }
    }
    return false;
  }

  public static boolean isIndex(String mediaType) {
    return mediaType != null && INDEX_TYPES.contains(mediaType);
  }
}
