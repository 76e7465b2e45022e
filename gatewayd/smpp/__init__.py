"""gatewayd's own SMPP 3.4 layer: a pure codec (:mod:`.pdu`, :mod:`.receipts`), a session state
machine (:mod:`.session`) and the services built on it (:mod:`.client`, :mod:`.server`,
:mod:`.simulator`)."""
