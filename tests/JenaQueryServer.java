// A SPARQL 1.1 Protocol query endpoint over a Jena TDB2 database, for tests/stores.py.
//
// Debian packages Jena's jars without Fuseki, so the tests run this one-file server
// (`java JenaQueryServer.java DB PORT`, the JDK's source-file mode) instead: it answers
// POST /sparql (form field `query`) with SPARQL JSON results or N-Triples, evaluated by
// Jena ARQ over the TDB2 database with the union of the named graphs as the default graph
// (as `tdb2.tdbquery --set tdb:unionDefaultGraph=true` does). The dataset fields of the
// request (default-graph-uri, named-graph-uri) are ignored: the database holds only the
// project's graphs. Bound to 127.0.0.1; one JVM for the whole query set (a JVM a query
// would cost about 2 s each).
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import org.apache.jena.query.Dataset;
import org.apache.jena.query.Query;
import org.apache.jena.query.QueryExecution;
import org.apache.jena.query.QueryExecutionFactory;
import org.apache.jena.query.QueryFactory;
import org.apache.jena.query.ResultSetFormatter;
import org.apache.jena.riot.RDFDataMgr;
import org.apache.jena.riot.RDFFormat;
import org.apache.jena.system.Txn;
import org.apache.jena.tdb2.TDB2;
import org.apache.jena.tdb2.TDB2Factory;

public class JenaQueryServer {
    public static void main(String[] args) throws IOException {
        Dataset dataset = TDB2Factory.connectDataset(args[0]);
        dataset.getContext().set(TDB2.symUnionDefaultGraph, true);
        HttpServer server =
                HttpServer.create(new InetSocketAddress("127.0.0.1", Integer.parseInt(args[1])), 0);
        server.createContext("/sparql", exchange -> answer(dataset, exchange));
        server.start();
        System.out.println("ready");
    }

    static void answer(Dataset dataset, HttpExchange exchange) throws IOException {
        byte[] body;
        String type;
        int status = 200;
        try {
            String form = new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
            String text = null;
            for (String field : form.split("&")) {
                if (field.startsWith("query=")) {
                    text = URLDecoder.decode(field.substring(6), StandardCharsets.UTF_8);
                }
            }
            Query query = QueryFactory.create(text);
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            Txn.executeRead(dataset, () -> {
                try (QueryExecution exec = QueryExecutionFactory.create(query, dataset)) {
                    if (query.isSelectType()) {
                        ResultSetFormatter.outputAsJSON(out, exec.execSelect());
                    } else if (query.isAskType()) {
                        ResultSetFormatter.outputAsJSON(out, exec.execAsk());
                    } else if (query.isConstructType()) {
                        RDFDataMgr.write(out, exec.execConstruct(), RDFFormat.NTRIPLES);
                    } else {
                        RDFDataMgr.write(out, exec.execDescribe(), RDFFormat.NTRIPLES);
                    }
                }
            });
            body = out.toByteArray();
            type = query.isSelectType() || query.isAskType()
                    ? "application/sparql-results+json" : "application/n-triples";
        } catch (RuntimeException err) {
            status = 400;
            body = String.valueOf(err.getMessage()).getBytes(StandardCharsets.UTF_8);
            type = "text/plain";
        }
        exchange.getResponseHeaders().set("Content-Type", type);
        exchange.sendResponseHeaders(status, body.length);
        try (OutputStream stream = exchange.getResponseBody()) {
            stream.write(body);
        }
    }
}
