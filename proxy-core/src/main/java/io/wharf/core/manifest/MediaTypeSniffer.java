package io.wharf.core.manifest;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;

/** Reads the {@code mediaType} field of a manifest body, when it has one. */
final class MediaTypeSniffer {
  private static final ObjectMapper JSON = new ObjectMapper();

  private MediaTypeSniffer() {}

  static String mediaTypeField(byte[] body) {
    try {
      JsonNode n = JSON.readTree(body);
      JsonNode t = n == null ? null : n.get("mediaType");
      return t != null && t.isTextual() ? t.asText() : null;
    } catch (IOException e) {
      return null;
    }
  }
}
