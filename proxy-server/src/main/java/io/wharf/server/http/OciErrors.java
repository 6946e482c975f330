package io.wharf.server.http;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.wharf.core.oci.ErrorCode;
import io.wharf.core.oci.RegistryException;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one place where failures become HTTP: status, OCI error JSON ({@code
 * {"errors":[{"code":...,"message":...}]}}), {@code Retry-After}, and the one log line.
 */
public final class OciErrors {
  private static final Logger log = LoggerFactory.getLogger(OciErrors.class);
  private static final ObjectMapper JSON = new ObjectMapper();

  private OciErrors() {}

  /** A failure mapped to what the client gets. */
  public record Mapped(int status, ErrorCode code, String message, long retryAfterSeconds) {}

  public static Mapped map(Throwable t) {
    Throwable c = unwrap(t);
    if (c instanceof RegistryException re) {
      String msg = re.getMessage() == null ? re.code().defaultMessage() : re.getMessage();
      return new Mapped(re.status(), re.code(), msg, re.retryAfterSeconds());
    }
    return new Mapped(500, ErrorCode.UNKNOWN, "internal error: " + c.getClass().getSimpleName(), -1);
  }

  /** Logs {@code t} once, at a level that fits its status, and returns the mapped answer. */
  public static Mapped mapAndLog(Throwable t, String method, String rawUri) {
    String uri = LogSafe.text(rawUri);
    Mapped m = map(t);
    Throwable c = unwrap(t);
    if (m.status() >= 500 && !(c instanceof RegistryException)) {
      log.error("{} {} failed: {}", method, uri, c.toString(), c);
    } else if (m.status() >= 500) {
      log.warn("{} {} -> {} {}: {}", method, uri, m.status(), m.code(), m.message());
    } else {
      log.info("{} {} -> {} {}: {}", method, uri, m.status(), m.code(), m.message());
    }
    return m;
  }

  public static FullHttpResponse response(Mapped m, boolean head) {
    byte[] body = json(m.code(), m.message());
    FullHttpResponse r =
        new DefaultFullHttpResponse(
            HttpVersion.HTTP_1_1,
            HttpResponseStatus.valueOf(m.status()),
            head ? Unpooled.EMPTY_BUFFER : Unpooled.wrappedBuffer(body));
    r.headers()
        .set(HttpHeaderNames.CONTENT_TYPE, "application/json; charset=utf-8")
        .set(HttpHeaderNames.CONTENT_LENGTH, body.length);
    if (m.retryAfterSeconds() >= 0) {
      r.headers().set(HttpHeaderNames.RETRY_AFTER, m.retryAfterSeconds());
    }
    return r;
  }

  public static FullHttpResponse response(ErrorCode code, int status, String message, boolean head) {
    return response(new Mapped(status, code, message, -1), head);
  }

  static byte[] json(ErrorCode code, String message) {
    try {
      Map<String, Object> error = new java.util.LinkedHashMap<>();
      error.put("code", code.name());
      error.put("message", message);
      return JSON.writeValueAsBytes(Map.of("errors", List.of(error)));
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }

  public static Throwable unwrap(Throwable t) {
    while ((t instanceof CompletionException || t instanceof ExecutionException)
        && t.getCause() != null) {
      t = t.getCause();
    }
    return t;
  }
}
