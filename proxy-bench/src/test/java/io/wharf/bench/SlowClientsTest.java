package io.wharf.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class SlowClientsTest {

  private static SlowClients.Head head(String s) {
    byte[] b = s.getBytes(StandardCharsets.ISO_8859_1);
    return SlowClients.parseHead(b, b.length);
  }

  @Test
  void parseHead_completeHead_statusLengthAndBodyOffset() {
    String h = "HTTP/1.1 200 OK\r\ncontent-type: application/octet-stream\r\nContent-Length: 4194304\r\n\r\n";
    SlowClients.Head p = head(h + "body bytes");
    assertThat(p.status()).isEqualTo(200);
    assertThat(p.contentLength()).isEqualTo(4_194_304L);
    assertThat(p.bodyOffset()).isEqualTo(h.length());
  }

  @Test
  void parseHead_incompleteHead_null() {
    assertThat(head("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n")).isNull();
    assertThat(head("HTTP/1.1 503 Service Unavailable\r\n\r\n").contentLength()).isEqualTo(-1);
  }

  @Test
  void parseHead_notHttp_rejected() {
    assertThatThrownBy(() -> head("SSH-2.0-OpenSSH\r\n\r\n")).isInstanceOf(IllegalStateException.class);
  }

  @Test
  void promSum_sumsMatchingSamplesOnly() {
    String text = """
        # HELP jvm_memory_used_bytes The amount of used memory
        # TYPE jvm_memory_used_bytes gauge
        jvm_memory_used_bytes{area="heap",id="PS Eden Space"} 1.048576E7
        jvm_memory_used_bytes{area="heap",id="PS Old Gen"} 2097152.0
        jvm_memory_used_bytes{area="nonheap",id="Metaspace"} 5.0E7
        jvm_memory_used_bytes_other{area="heap"} 99.0
        jvm_gc_live_data_size_bytes 3145728.0
        """;
    assertThat(SlowClients.promSum(text, "jvm_memory_used_bytes", "area=\"heap\"")).isEqualTo(12_582_912L);
    assertThat(SlowClients.promSum(text, "jvm_gc_live_data_size_bytes")).isEqualTo(3_145_728L);
    assertThat(SlowClients.promSum(text, "jvm_buffer_memory_used_bytes", "id=\"direct\"")).isEqualTo(-1);
  }

  @Test
  void sampleIndexes_spreadEvenly() {
    assertThat(SlowClients.sampleIndexes(10_000, 4)).containsExactly(0, 2500, 5000, 7500);
    assertThat(SlowClients.sampleIndexes(3, 100)).containsExactly(0, 1, 2);
    assertThat(SlowClients.sampleIndexes(5, 0)).isEmpty();
  }

  @Test
  void rssOfTree_ownProcess_positive_unknownPid_minusOne() {
    assertThat(SlowClients.rssOfTree(ProcessHandle.current().pid())).isGreaterThan(1L << 20);
    assertThat(SlowClients.rssOfTree(0)).isEqualTo(-1);
  }
}
