"""Standard objects of orders and commerce: products and price books, orders and their
products, inventory locations, and the B2B/D2C Commerce cart and checkout objects that the
checkout flows read and write (Object Reference for the Salesforce Platform)."""
from __future__ import annotations

from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from flowengine.org.schema import Rollup
from flowengine.org.standard._build import (
    GEOCODE_ACCURACY,
    address,
    area,
    auto,
    calculated,
    check,
    currency,
    date,
    datetime,
    double,
    email,
    lookup,
    master,
    number,
    obj,
    owner,
    phone,
    picklist,
    rolled_up,
    text,
    url,
)
from flowengine.org.standard.core import GENERATED


def _order_item_total(record: Mapping[str, Any]) -> Decimal | None:
    quantity, price = record.get("Quantity"), record.get("UnitPrice")
    if quantity is None or price is None:
        return None
    return (quantity * price).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


PRODUCT2 = obj(
    "Product2", "01t", "Product",
    text("Name", required=True),
    text("StockKeepingUnit", 180),
    text("ProductCode"),
    area("Description", 4000),
    picklist("Family", "None"),
    check("IsActive"),
    picklist("QuantityUnitOfMeasure", "Each"),
    url("DisplayUrl"),
    text("ExternalId"),
    picklist("Type", "Base", "Bundle", "Set"),
    picklist("ProductClass", "Simple", "VariationParent", "Variation", default="Simple"),
    description="A product that can be sold.")

PRICEBOOK2 = obj(
    "Pricebook2", "01s", "Price Book",
    text("Name", required=True),
    area("Description", 255),
    check("IsActive"),
    check("IsStandard", read_only=True),
    description="A list of products and their prices.")

PRICEBOOK_ENTRY = obj(
    "PricebookEntry", "01u", "Price Book Entry",
    master("Pricebook2Id", "Pricebook2"),
    lookup("Product2Id", "Product2", required=True, on_delete="cascade"),
    currency("UnitPrice", required=True),
    check("IsActive"),
    check("UseStandardPrice"),
    text("ProductCode", read_only=True),
    description="A product's price in a price book.")

ORDER = obj(
    "Order", "801", "Order",
    lookup("AccountId", "Account", required=True),
    date("EffectiveDate", required=True),
    picklist("Status", "Draft", "Activated", required=True, default="Draft"),
    auto("OrderNumber", "{00000000}"),
    text("Name", 80),
    text("PoNumber", 80),
    date("PoDate"),
    picklist("Type"),
    area("Description", 32_000),
    lookup("Pricebook2Id", "Pricebook2"),
    lookup("OriginalOrderId", "Order"),
    lookup("CustomerAuthorizedById", "Contact"),
    lookup("SalesStoreId", "WebStore"),
    text("OrderReferenceNumber", 80),
    email("BillingEmailAddress"), phone("BillingPhoneNumber"),
    date("EndDate"), datetime("ActivatedDate"),
    check("IsReductionOrder"),
    rolled_up(currency("TotalAmount", description="Sum of the TotalPrice of the order's products."),
              Rollup("OrderItem", "OrderId", "TotalPrice")),
    *address("Billing"), *address("Shipping"),
    owner(),
    description="An order of products by a customer.")

ORDER_ITEM = obj(
    "OrderItem", "802", "Order Product",
    master("OrderId", "Order"),
    auto("OrderItemNumber", "{0000000000}"),
    lookup("Product2Id", "Product2"),
    lookup("PricebookEntryId", "PricebookEntry"),
    lookup("OriginalOrderItemId", "OrderItem"),
    number("Quantity", 18, 2, required=True),
    currency("UnitPrice", required=True),
    currency("ListPrice"),
    currency("GrossUnitPrice"),
    calculated(currency("TotalPrice", read_only=True), _order_item_total),
    area("Description", 255),
    date("ServiceDate"), date("EndDate"),
    picklist("Type", "Order Product", "Delivery Charge", default="Order Product"),
    picklist("TypeCode", "Product", "Charge", default="Product"),
    description="A product on an order.")

LOCATION = obj(
    "Location", "131", "Location",
    text("Name", required=True),
    picklist("LocationType", "Warehouse", "Site", "Van", "Plant", "Virtual", "Store", "Depot"),
    text("ExternalReference"),
    area("Description", 255),
    check("IsInventoryLocation"), check("IsMobile"),
    lookup("ParentLocationId", "Location", "ParentLocation"),
    lookup("RootLocationId", "Location", "RootLocation", read_only=True),
    double("Latitude"), double("Longitude"),
    picklist("TimeZone"),
    text("DrivingDirections", 1000),
    date("OpenDate"), date("CloseDate"),
    owner(),
    description="A place that holds inventory or where work happens: a warehouse, a store, a van.")

LOCATION_GROUP = obj(
    "LocationGroup", GENERATED, "Location Group",
    text("LocationGroupName", 80, required=True),
    text("ExternalReference"),
    area("Description", 255),
    check("IsEnabled", default=True),
    check("ShouldSyncWithOci"),
    owner(),
    description="A group of locations that share inventory availability.")

LOCATION_GROUP_ASSIGNMENT = obj(
    "LocationGroupAssignment", GENERATED, "Location Group Assignment",
    auto("LocationGroupAssignment", "LGA-{0000000000}"),
    master("LocationGroupId", "LocationGroup"),
    master("LocationId", "Location"),
    # read-only copies of the assigned location's and group's names (Salesforce fills them)
    text("LocationName", read_only=True), text("LocationExternalReference", read_only=True),
    text("LocationGroupName", 80, read_only=True),
    description="Assigns a location to a location group.")

WEB_STORE = obj(
    "WebStore", GENERATED, "Store",
    text("Name", 80, required=True),
    picklist("Type", "B2B", "B2C", "B2BCommerceLWR", default="B2B"),
    lookup("StrikethroughPricebookId", "Pricebook2"),
    text("DefaultLanguage", 40),
    description="A B2B or D2C Commerce store.")

WEB_STORE_NETWORK = obj(
    "WebStoreNetwork", GENERATED, "Web Store Network",
    master("WebStoreId", "WebStore"),
    lookup("NetworkId", None, "Network", required=True),
    description="Links a store to the Experience Cloud site that shows it.")

WEB_CART = obj(
    "WebCart", "0a6", "Cart",
    text("Name", required=True),
    lookup("AccountId", "Account"),
    lookup("WebStoreId", "WebStore", required=True),
    picklist("Status", "Active", "Closed", "PendingClosed", "Processing", "Checkout",
             "PendingDelete", default="Active"),
    picklist("Type", "Cart", "Template", "ReadOnly", "PayNowReadOnly", default="Cart"),
    lookup("PaymentMethodId", None, "PaymentMethod"),
    text("PoNumber", 80),
    currency("TotalAmount"), currency("TotalTaxAmount"), currency("GrandTotalAmount"),
    currency("TotalProductAmount"), currency("TotalChargeAmount"),
    number("TotalProductCount", 18, 2),
    *address("Billing"),
    owner(),
    description="A shopping cart of a B2B or D2C Commerce store.")

CART_DELIVERY_GROUP = obj(
    "CartDeliveryGroup", "0a7", "Cart Delivery Group",
    master("CartId", "WebCart", "Cart"),
    text("Name", required=True),
    text("DeliverToName"),
    area("DeliverToStreet", 255), text("DeliverToCity", 40), text("DeliverToState", 80),
    text("DeliverToPostalCode", 20), text("DeliverToCountry", 80),
    picklist("DeliverToGeocodeAccuracy", *GEOCODE_ACCURACY, restricted=True),
    double("DeliverToLatitude"), double("DeliverToLongitude"),
    lookup("DeliveryMethodId", "OrderDeliveryMethod"),
    datetime("DesiredDeliveryDate"),
    area("ShippingInstructions", 2000),
    currency("TotalAmount"), currency("TotalTaxAmount"), currency("GrandTotalAmount"),
    description="The shipping information of some of a cart's items.")

CART_CHECKOUT_SESSION = obj(
    "CartCheckoutSession", GENERATED, "Cart Checkout Session",
    text("Name", required=True),
    master("WebCartId", "WebCart", "WebCart"),
    lookup("OrderId", "Order"),
    text("State", 30), text("NextState", 30),
    text("OrderReferenceNumber", 36),
    check("IsArchived"), check("IsError"), check("IsProcessing"),
    description="A checkout session of a cart (Lightning B2B Commerce checkout).")

CART_VALIDATION_OUTPUT = obj(
    "CartValidationOutput", "0dP", "Cart Validation Output",
    text("Name", required=True),
    master("CartId", "WebCart", "Cart"),
    lookup("RelatedEntityId", None, "RelatedEntity", required=True),
    picklist("Level", "Info", "Error", "Warning", required=True, restricted=True),
    picklist("Type", "Inventory", "Taxes", "Pricing", "Promotions", "Shipping",
             "ShippingPromotions", "Entitlement", "CartSave", "SystemError", "Other",
             required=True, restricted=True),
    text("Message"),
    check("IsDismissed"),
    description="An error or notice about a cart, one of its items or delivery groups.")

CONTACT_POINT_ADDRESS = obj(
    "ContactPointAddress", "8lW", "Contact Point Address",
    text("Name", required=True),
    lookup("ParentId", None, "Parent"),
    picklist("AddressType", "Billing", "Shipping", restricted=True),
    area("Street", 255), text("City", 40), text("State", 80), text("PostalCode", 20),
    text("Country", 80),
    picklist("GeocodeAccuracy", *GEOCODE_ACCURACY, restricted=True),
    double("Latitude"), double("Longitude"),
    check("IsDefault"), check("IsPrimary"),
    date("ActiveFromDate"), date("ActiveToDate"),
    number("PreferenceRank", 9),
    owner("User", "Group"),
    description="A billing or shipping address of a person or account.")

ORDER_DELIVERY_METHOD = obj(
    "OrderDeliveryMethod", GENERATED, "Order Delivery Method",
    text("Name", required=True),
    picklist("Carrier"), picklist("ClassOfService"),
    text("ReferenceNumber"),
    area("Description", 1000),
    check("IsActive"),
    lookup("ProductId", "Product2", "Product"),
    owner(),
    description="A delivery method that a buyer can choose.")

OBJECTS = (PRODUCT2, PRICEBOOK2, PRICEBOOK_ENTRY, ORDER, ORDER_ITEM, LOCATION, LOCATION_GROUP,
           LOCATION_GROUP_ASSIGNMENT, WEB_STORE, WEB_STORE_NETWORK, WEB_CART,
           CART_DELIVERY_GROUP, CART_CHECKOUT_SESSION, CART_VALIDATION_OUTPUT,
           CONTACT_POINT_ADDRESS, ORDER_DELIVERY_METHOD)
