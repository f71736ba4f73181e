"""Standard objects of every Salesforce org: users, accounts, contacts, leads, opportunities,
cases, tasks, files and Chatter posts — the fields flows use most, with Salesforce's API names,
types, lengths, required fields and picklist values (Object Reference for the Salesforce
Platform)."""
from __future__ import annotations

from flowengine.org.standard._build import (
    LEAD_SOURCES,
    address,
    area,
    auto,
    calculated,
    check,
    currency,
    date,
    datetime,
    email,
    full_name,
    lookup,
    master,
    number,
    obj,
    owner,
    percent,
    phone,
    picklist,
    text,
    url,
)

GENERATED = ""   # no documented key prefix: flowengine's own (see flowengine.org.prefixes)

PROFILE = obj(
    "Profile", "00e", "Profile",
    text("Name", required=True),
    area("Description", 255),
    picklist("UserType", "Standard", "PowerPartner", "PowerCustomerSuccess", "CustomerSuccess",
             "Guest", "CspLitePortal", "CsnOnly", "SelfService", read_only=True),
    description="A set of permissions that a user has.")

USER = obj(
    "User", "005", "User",
    text("Username", 80, required=True, unique=True),
    text("LastName", 80, required=True),
    text("FirstName", 40),
    full_name(),
    text("Alias", 8, required=True),
    email(required=True),
    check("IsActive", default=True),
    lookup("ProfileId", "Profile", required=True),
    lookup("UserRoleId", None, "UserRole"),
    lookup("ManagerId", "User"),
    # a portal user's contact and account: Ids only, so that every store's User (which every
    # record's CreatedById names) does not bring accounts and contacts along
    lookup("ContactId", None, "Contact"),
    lookup("AccountId", None, "Account", read_only=True),
    text("Title", 80), text("Department", 80), text("CompanyName", 80), text("Division", 80),
    phone(), phone("MobilePhone"),
    text("EmployeeNumber", 20),
    text("FederationIdentifier", 512),
    *address(""),
    picklist("TimeZoneSidKey", required=True), picklist("LocaleSidKey", required=True),
    picklist("LanguageLocaleKey", required=True), picklist("EmailEncodingKey", required=True),
    picklist("UserType", "Standard", "PowerPartner", "PowerCustomerSuccess", "CustomerSuccess",
             "Guest", "CspLitePortal", "CsnOnly", "SelfService", default="Standard",
             read_only=True),
    description="A user of the org; flows run as one (the running user).")

ORGANIZATION = obj(
    "Organization", "00D", "Organization",
    text("Name", 80, required=True),
    text("Division", 80),
    *address(""),
    phone(), phone("Fax"),
    text("PrimaryContact", 80),
    picklist("OrganizationType", "Team Edition", "Professional Edition", "Enterprise Edition",
             "Developer Edition", "Personal Edition", "Unlimited Edition", "Contact Manager Edition",
             "Base Edition"),
    text("InstanceName", 5),
    check("IsSandbox"),
    text("NamespacePrefix", 15),
    picklist("DefaultLocaleSidKey"), picklist("LanguageLocaleKey"), picklist("TimeZoneSidKey"),
    description="The org itself (one record): what a flow reads as {!$Organization.Name}.")

ACCOUNT = obj(
    "Account", "001", "Account",
    text("Name", required=True),
    text("AccountNumber", 40),
    picklist("Type", "Prospect", "Customer - Direct", "Customer - Channel",
             "Channel Partner / Reseller", "Installation Partner", "Technology Partner", "Other"),
    picklist("Industry", "Agriculture", "Apparel", "Banking", "Biotechnology", "Chemicals",
             "Communications", "Construction", "Consulting", "Education", "Electronics",
             "Energy", "Engineering", "Entertainment", "Environmental", "Finance",
             "Food & Beverage", "Government", "Healthcare", "Hospitality", "Insurance",
             "Machinery", "Manufacturing", "Media", "Not For Profit", "Other", "Recreation",
             "Retail", "Shipping", "Technology", "Telecommunications", "Transportation",
             "Utilities"),
    picklist("AccountSource", *LEAD_SOURCES),
    picklist("Rating", "Hot", "Warm", "Cold"),
    picklist("Ownership", "Public", "Private", "Subsidiary", "Other"),
    currency("AnnualRevenue"),
    number("NumberOfEmployees", 8),
    phone(), phone("Fax"), url("Website"),
    text("Site", 80), text("Sic", 20), text("TickerSymbol", 20),
    area("Description", 32_000),
    lookup("ParentId", "Account", "Parent"),
    *address("Billing"), *address("Shipping"),
    # a person account's own fields (orgs with Person Accounts; the B2C shopper's account)
    text("FirstName", 40), text("LastName", 80), email("PersonEmail"),
    check("IsPersonAccount", read_only=True),
    owner(),
    description="A company, organisation or person that the business deals with.")


CONTACT = obj(
    "Contact", "003", "Contact",
    # deleting an account deletes its contacts (Salesforce Help, "Delete Accounts")
    lookup("AccountId", "Account", on_delete="cascade"),
    picklist("Salutation", "Mr.", "Ms.", "Mrs.", "Dr.", "Prof."),
    text("FirstName", 40),
    text("LastName", 80, required=True),
    full_name(),
    email(), phone(), phone("MobilePhone"), phone("HomePhone"), phone("OtherPhone"),
    phone("Fax"), phone("AssistantPhone"),
    text("Title", 128), text("Department", 80), text("AssistantName", 40),
    date("Birthdate"),
    picklist("LeadSource", *LEAD_SOURCES),
    check("HasOptedOutOfEmail"), check("DoNotCall"),
    lookup("ReportsToId", "Contact", "ReportsTo"),
    area("Description", 32_000),
    *address("Mailing"), *address("Other"),
    owner(),
    description="A person associated with an account.")

_LEAD_STATUSES = ("Open - Not Contacted", "Working - Contacted", "Closed - Converted",
                  "Closed - Not Converted")
LEAD = obj(
    "Lead", "00Q", "Lead",
    text("FirstName", 40),
    text("LastName", 80, required=True),
    full_name(),
    text("Company", required=True),
    text("Title", 128),
    email(), phone(), phone("MobilePhone"), url("Website"),
    picklist("Status", *_LEAD_STATUSES, required=True, default="Open - Not Contacted"),
    picklist("LeadSource", *LEAD_SOURCES),
    picklist("Rating", "Hot", "Warm", "Cold"),
    picklist("Industry"),
    currency("AnnualRevenue"), number("NumberOfEmployees", 8),
    check("IsConverted", read_only=True),
    lookup("ConvertedAccountId", "Account", read_only=True),
    lookup("ConvertedContactId", "Contact", read_only=True),
    lookup("ConvertedOpportunityId", "Opportunity", read_only=True),
    area("Description", 32_000),
    *address(""),
    owner(),
    description="A prospect or potential opportunity.")

_STAGES = ("Prospecting", "Qualification", "Needs Analysis", "Value Proposition",
           "Id. Decision Makers", "Perception Analysis", "Proposal/Price Quote",
           "Negotiation/Review", "Closed Won", "Closed Lost")
OPPORTUNITY = obj(
    "Opportunity", "006", "Opportunity",
    text("Name", 120, required=True),
    lookup("AccountId", "Account", on_delete="cascade"),
    lookup("ContactId", "Contact"),
    currency("Amount"),
    date("CloseDate", required=True),
    picklist("StageName", *_STAGES, required=True),
    percent("Probability", 3, 0),
    picklist("Type", "Existing Customer - Upgrade", "Existing Customer - Replacement",
             "Existing Customer - Downgrade", "New Customer"),
    picklist("LeadSource", *LEAD_SOURCES),
    text("NextStep"),
    area("Description", 32_000),
    calculated(check("IsClosed", read_only=True),
               lambda r: r.get("StageName") in ("Closed Won", "Closed Lost")),
    calculated(check("IsWon", read_only=True), lambda r: r.get("StageName") == "Closed Won"),
    owner(),
    description="A sale or pending deal.")

CASE = obj(
    "Case", "500", "Case",
    auto("CaseNumber", "{00000000}"),
    text("Subject"),
    area("Description", 32_000),
    picklist("Status", "New", "Working", "Escalated", "Closed", required=True, default="New"),
    picklist("Origin", "Phone", "Email", "Web"),
    picklist("Priority", "High", "Medium", "Low", default="Medium"),
    picklist("Type", "Mechanical", "Electrical", "Electronic", "Structural", "Other"),
    picklist("Reason", "Installation", "Equipment Complexity", "Performance", "Breakdown",
             "Equipment Design", "Feedback", "Other"),
    lookup("AccountId", "Account"),
    lookup("ContactId", "Contact"),
    lookup("ParentId", "Case", "Parent"),
    text("SuppliedName", 80), email("SuppliedEmail"), phone("SuppliedPhone"),
    text("SuppliedCompany", 80),
    calculated(check("IsClosed", read_only=True), lambda r: r.get("Status") == "Closed"),
    check("IsEscalated"),
    datetime("ClosedDate"),
    owner("User", "Group"),
    description="A customer issue, question or feedback.")

TASK = obj(
    "Task", "00T", "Task",
    text("Subject"),   # a combobox in the user interface: any text
    picklist("Status", "Not Started", "In Progress", "Completed", "Waiting on someone else",
             "Deferred", required=True, default="Not Started"),
    picklist("Priority", "High", "Normal", "Low", required=True, default="Normal"),
    date("ActivityDate"),
    area("Description", 32_000),
    lookup("WhoId", None, "Who"),
    lookup("WhatId", None, "What"),
    picklist("Type", "Call", "Email", "Meeting", "Other"),
    picklist("TaskSubtype", "Task", "Email", "ListEmail", "Cadence", "Call", "LinkedIn"),
    calculated(check("IsClosed", read_only=True), lambda r: r.get("Status") == "Completed"),
    datetime("ReminderDateTime"), check("IsReminderSet"),
    number("CallDurationInSeconds", 8),
    owner("User", "Group"),
    description="A to-do item: a call, an email, a follow-up.")

CONTENT_DOCUMENT = obj(
    "ContentDocument", "069", "File",
    text("Title", required=True),
    text("FileExtension", 40), text("FileType", 20),
    number("ContentSize", 18),
    lookup("LatestPublishedVersionId", "ContentVersion"),
    area("Description", 1000),
    owner(),
    description="A file uploaded to the org (its versions are ContentVersion records).")

CONTENT_VERSION = obj(
    "ContentVersion", "068", "Content Version",
    text("Title", required=True),
    text("PathOnClient", 500),
    lookup("ContentDocumentId", "ContentDocument", on_delete="cascade"),
    lookup("FirstPublishLocationId", None, "FirstPublishLocation"),
    check("IsLatest", default=True),
    text("VersionNumber", 20, read_only=True),
    text("FileExtension", 40), text("FileType", 20),
    text("ReasonForChange", 1000), area("Description", 1000),
    owner(),
    description="A version of a file.")

CONTENT_DOCUMENT_LINK = obj(
    "ContentDocumentLink", GENERATED, "Content Document Link",
    master("ContentDocumentId", "ContentDocument"),
    lookup("LinkedEntityId", None, "LinkedEntity", required=True),
    picklist("ShareType", "V", "C", "I", default="V", restricted=True),
    picklist("Visibility", "AllUsers", "InternalUsers", "SharedUsers", default="AllUsers",
             restricted=True),
    description="Shares a file with a record, a user or a group.")

FEED_ITEM = obj(
    "FeedItem", GENERATED, "Feed Item",
    lookup("ParentId", None, "Parent", required=True),
    area("Body", 10_000),
    text("Title"),
    url("LinkUrl"),
    picklist("Type", "TextPost", "LinkPost", "ContentPost", "QuestionPost", "PollPost",
             default="TextPost"),
    picklist("Visibility", "AllUsers", "InternalUsers", default="AllUsers"),
    check("IsRichText"),
    description="A Chatter post on a record's or a user's feed.")

CUSTOM_NOTIFICATION_TYPE = obj(
    "CustomNotificationType", GENERATED, "Custom Notification Type",
    text("DeveloperName", 80, required=True, unique=True),
    text("MasterLabel", 80, required=True),
    area("Description", 255),
    check("Desktop"), check("Mobile"),
    description="A kind of custom notification (sent by the Send Custom Notification action).")

MESSAGING_SESSION = obj(
    "MessagingSession", GENERATED, "Messaging Session",
    auto("Name", "MS-{0000000}"),
    lookup("CaseId", "Case"),
    lookup("LeadId", "Lead"),
    lookup("OpportunityId", "Opportunity"),
    lookup("EndUserAccountId", "Account"),
    lookup("EndUserContactId", "Contact"),
    lookup("MessagingEndUserId", None, "MessagingEndUser"),
    picklist("Status", "New", "Waiting", "Active", "Inactive", "Ended", "Error", "Consent"),
    datetime("StartTime"), datetime("EndTime"),
    owner("User", "Group"),
    description="A conversation on a messaging channel.")

OBJECTS = (PROFILE, USER, ORGANIZATION, ACCOUNT, CONTACT, LEAD, OPPORTUNITY, CASE, TASK,
           CONTENT_DOCUMENT, CONTENT_VERSION, CONTENT_DOCUMENT_LINK, FEED_ITEM, CUSTOM_NOTIFICATION_TYPE,
           MESSAGING_SESSION)
