use super::string_enum;

string_enum!(Urgency {
    Emergency => "emergency",
    Urgent => "urgent",
    Normal => "normal",
});
