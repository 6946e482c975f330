package io.wharf.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.wharf.core.testing.TestImages;
import io.wharf.server.testing.WharfOnScriptedUpstream;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.Socket;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.bouncycastle.crypto.generators.OpenBSDBCrypt;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Per-client request rate and identity-keyed limits on a running server, under concurrency. */
@Timeout(60)
class ClientLimitsIT extends WharfOnScriptedUpstream {
  private Path htpasswd;

  @BeforeEach
  void setUp() throws Exception {
    TestImages.publish(upstream, "app", "v1", TestImages.image(21, 1000));
    StringBuilder sb = new StringBuilder();
    for (String user : List.of("alice", "bob")) {
      byte[] salt = new byte[16];
      new java.security.SecureRandom().nextBytes(salt);
      String h = OpenBSDBCrypt.generate("2b", ("pw-" + user).toCharArray(), salt, 4);
      sb.append(user).append(":$2y").append(h.substring(3)).append('\n');
    }
    htpasswd = store.resolve("htpasswd");
    Files.writeString(htpasswd, sb.toString());
  }

  private static String basic(String user) {
    return "Basic " + Base64.getEncoder().encodeToString(
        (user + ":pw-" + user).getBytes(StandardCharsets.UTF_8));
  }

  private List<Integer> concurrently(int n, Callable<Integer> request) throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(16);
    try {
      List<Future<Integer>> fs = new ArrayList<>();
      for (int i = 0; i < n; i++) {
        fs.add(pool.submit(request));
      }
      List<Integer> out = new ArrayList<>();
      for (Future<Integer> f : fs) {
        out.add(f.get());
      }
      return out;
    } finally {
      pool.shutdownNow();
    }
  }

  @Test
  void rateByAddress_concurrentBurst_exactlyBurstAdmitted_rest429() throws Exception {
    start("", "", "  requestsPerSecond: 0.01\n  requestBurst: 5\n");
    List<Integer> statuses = concurrently(30,
        () -> client.get("/v2/app/manifests/v1").statusCode());
    assertThat(statuses).filteredOn(s -> s == 200).hasSize(5);
    assertThat(statuses).filteredOn(s -> s == 429).hasSize(25);
    HttpResponse<byte[]> r = client.get("/v2/app/manifests/v1");
    assertThat(r.statusCode()).isEqualTo(429);
    assertThat(r.headers().firstValue("Retry-After")).get().asString().matches("[1-9][0-9]*");
    assertThat(new String(r.body(), StandardCharsets.UTF_8)).contains("TOOMANYREQUESTS");
  }

  @Test
  void rateByIdentity_usersBehindOneAddress_haveTheirOwnBuckets() throws Exception {
    start("", "    access: {htpasswd: " + htpasswd + "}\n",
        "  limitBy: identity\n  requestsPerSecond: 0.01\n  requestBurst: 3\n");
    List<Integer> alice = new ArrayList<>();
    List<Integer> bob = new ArrayList<>();
    ExecutorService pool = Executors.newFixedThreadPool(8);
    try {
      List<Future<int[]>> fs = new ArrayList<>();
      for (int i = 0; i < 20; i++) {
        String user = i % 2 == 0 ? "alice" : "bob";
        fs.add(pool.submit(() -> new int[] {user.equals("alice") ? 0 : 1,
            client.get("/v2/app/manifests/v1", "Authorization", basic(user)).statusCode()}));
      }
      for (Future<int[]> f : fs) {
        int[] r = f.get();
        (r[0] == 0 ? alice : bob).add(r[1]);
      }
    } finally {
      pool.shutdownNow();
    }
    assertThat(alice).filteredOn(s -> s == 200).hasSize(3);
    assertThat(bob).filteredOn(s -> s == 200).hasSize(3);
    assertThat(alice).filteredOn(s -> s == 429).hasSize(7);
    // A wrong password is not an identity: it gets 401, and spends nobody's budget.
    assertThat(client.get("/v2/app/manifests/v1", "Authorization",
        "Basic " + Base64.getEncoder().encodeToString("carol:x".getBytes())).statusCode())
        .isEqualTo(401);
  }

  /** Sends one HEAD with {@code user}'s credentials on {@code s} (kept open); the status. */
  private static String statusOn(Socket s, String user) throws Exception {
    s.getOutputStream().write(("HEAD /v2/app/manifests/v1 HTTP/1.1\r\nHost: x\r\nAuthorization: "
        + basic(user) + "\r\n\r\n").getBytes(StandardCharsets.UTF_8));
    s.getOutputStream().flush();
    s.setSoTimeout(10_000);
    BufferedReader in = new BufferedReader(new InputStreamReader(s.getInputStream(),
        StandardCharsets.ISO_8859_1));
    return in.readLine().substring(9, 12);
  }

  @Test
  void connectionsByIdentity_capPerUser_notPerAddress() throws Exception {
    start("", "    access: {htpasswd: " + htpasswd + "}\n",
        "  limitBy: identity\n  maxConnectionsPerClient: 2\n");
    try (Socket a1 = new Socket("127.0.0.1", server.port());
        Socket a2 = new Socket("127.0.0.1", server.port());
        Socket a3 = new Socket("127.0.0.1", server.port());
        Socket b1 = new Socket("127.0.0.1", server.port())) {
      assertThat(statusOn(a1, "alice")).isEqualTo("200");
      assertThat(statusOn(a2, "alice")).isEqualTo("200");
      assertThat(statusOn(a3, "alice")).isEqualTo("503");
      assertThat(statusOn(b1, "bob")).as("four connections from one address are fine")
          .isEqualTo("200");
    }
  }
}
