"""carbonhub connector for GreenMiles cafés (an example third-party plugin)."""

from greenmiles_connector.connector import GreenMilesConfig, GreenMilesConnector

__all__ = ["GreenMilesConfig", "GreenMilesConnector"]
