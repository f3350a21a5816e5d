from guichet.documents.views import activation, customer_numbers, documents, enrolment, sharing

app_name = "documents"
urlpatterns = (
    documents.urlpatterns
    + activation.urlpatterns
    + enrolment.urlpatterns
    + sharing.urlpatterns
    + customer_numbers.urlpatterns
)
