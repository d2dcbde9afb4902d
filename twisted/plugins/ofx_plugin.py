from twisted.application.service import ServiceMaker

ofx = ServiceMaker("ofx", "ofx.tap", "OFX: a shared TCP gateway in front of one XTP account", "ofx")
