// An OPC UA server whose PKI root is the given folder (a pkifs mount in the
// tests). Prints READY when listening. Trust decisions come from node-opcua's
// own certificate manager, which watches the folders like it does in a plant.
"use strict";
const {
    OPCUAServer, OPCUACertificateManager, MessageSecurityMode, SecurityPolicy, nodesets
} = require("node-opcua");

async function main() {
    const [root, port] = [process.argv[2], parseInt(process.argv[3], 10)];
    const serverCertificateManager = new OPCUACertificateManager({
        automaticallyAcceptUnknownCertificate: false,
        rootFolder: root,
    });
    await serverCertificateManager.initialize();
    const server = new OPCUAServer({
        port,
        hostname: "localhost",
        serverCertificateManager,
        securityModes: [MessageSecurityMode.SignAndEncrypt],
        securityPolicies: [SecurityPolicy.Basic256Sha256],
        allowAnonymous: true,
        nodeset_filename: [nodesets.standard],
    });
    await server.initialize();
    await server.start();
    // SIGUSR2 re-reads the trust lists (the tests use the watcher first)
    process.on("SIGUSR2", () => serverCertificateManager.reloadCertificates().catch(() => {}));
    process.on("SIGTERM", async () => { await server.shutdown(0); process.exit(0); });
    console.log("READY " + server.getEndpointUrl());
}

main().catch((err) => { console.error(err); process.exit(1); });
