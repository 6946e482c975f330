package io.wharf.core.oci;

import java.util.regex.Pattern;

/** A manifest reference: a tag, or a digest. */
public sealed interface Reference permits Reference.Tag, Reference.ByDigest {

  /** Parses a tag ({@code [a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}}) or a digest. */
  static Reference parse(String text) {
    if (text == null || text.isEmpty()) {
      throw new InvalidReferenceException(ErrorCode.MANIFEST_INVALID, "empty manifest reference");
    }
    if (Digest.looksLikeDigest(text)) {
      return new ByDigest(Digest.parse(text));
    }
    return new Tag(text);
  }

  /** The reference as it appears in a URL. */
  String value();

  /** A validated tag. */
  record Tag(String value) implements Reference {
    private static final Pattern TAG = Pattern.compile("[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}");

    public Tag {
      if (value == null || !TAG.matcher(value).matches()) {
        throw new InvalidReferenceException(
            ErrorCode.MANIFEST_INVALID, "invalid tag: " + Digest.shorten(String.valueOf(value)));
      }
    }

    @Override
    public String toString() {
      return value;
    }
  }

  /** A reference by digest. */
  record ByDigest(Digest digest) implements Reference {
    @Override
    public String value() {
      return digest.toString();
    }

    @Override
    public String toString() {
      return value();
    }
  }
}
